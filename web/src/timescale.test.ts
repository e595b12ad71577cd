import { describe, expect, it } from 'vitest';
import { SharedTime, clampView, fullView, panView, zoomView } from './timescale';

describe('the shared time axis', () => {
  it('spans the window, T+0 and every sample', () => {
    expect(fullView({ min: -60, max: 3 }, [{ min: -3, max: 1 }])).toEqual({ min: -60, max: 3 });
    expect(fullView(null, [{ min: -10, max: -2 }, null])).toEqual({ min: -10, max: 0 });
    expect(fullView(null, [])).toEqual({ min: -1, max: 1 });
  });

  it('zooms around a point and pans, staying inside the full span', () => {
    const full = { min: -100, max: 100 };
    expect(zoomView(full, 0.5, full, 0)).toEqual({ min: -50, max: 50 });
    expect(zoomView({ min: -10, max: 10 }, 4, full)).toEqual({ min: -40, max: 40 });
    expect(panView({ min: -10, max: 10 }, 200, full)).toEqual({ min: 80, max: 100 });
    expect(clampView({ min: -500, max: 500 }, full)).toEqual(full);
    expect(clampView({ min: 5, max: 5 }, full).max - clampView({ min: 5, max: 5 }, full).min).toBeCloseTo(0.2);
  });

  it('moves every lane at once, and says whether it is zoomed', () => {
    const shared = new SharedTime({ min: -60, max: 10 });
    const seen: string[] = [];
    const lane = (name: string) => ({ setScale: (_k: string, v: { min: number; max: number }) => seen.push(`${name}:${v.min}..${v.max}`) });
    shared.add(lane('cpu'));
    const off = shared.add(lane('events'));
    shared.set({ min: -5, max: 5 });
    expect(seen).toEqual(['cpu:-5..5', 'events:-5..5']);
    expect(shared.zoomed).toBe(true);
    off();
    shared.reset();
    expect(seen.slice(2)).toEqual(['cpu:-60..10']);
    expect(shared.zoomed).toBe(false);
    expect(shared.current()).toEqual({ min: -60, max: 10 });
  });
});
