import { describe, expect, it } from 'vitest';
import type { SeriesData } from './api';
import {
  BYTE_INCRS,
  NO_OVERLAYS,
  drawOverlays,
  formatTick,
  seriesStats,
  toColumns,
  yRange,
  type OverlayTarget,
} from './charts';
import { colorsFor } from './theme';

const FIRED = 1_763_892_005.1;

const cpu: SeriesData = {
  name: 'cpu.total.busy_pct',
  unit: 'percent',
  t: [FIRED - 3, FIRED - 2, FIRED - 1, FIRED, FIRED + 1],
  v: [12.5, 85, 97.5, 96.1, null],
};

const COLORS = colorsFor('light');

/** A fake chart: 100 px wide plot from x=-10..10 s, y=0..100, recording canvas calls. */
function fakeChart(): OverlayTarget & { calls: Array<[string, ...unknown[]]> } {
  const calls: Array<[string, ...unknown[]]> = [];
  const rec =
    (name: string) =>
    (...args: unknown[]) => {
      calls.push([name, ...args]);
    };
  const ctx = {
    save: rec('save'),
    restore: rec('restore'),
    beginPath: rec('beginPath'),
    moveTo: rec('moveTo'),
    lineTo: rec('lineTo'),
    stroke: rec('stroke'),
    fillRect: rec('fillRect'),
    fillText: rec('fillText'),
    setLineDash: rec('setLineDash'),
    rect: rec('rect'),
    clip: rec('clip'),
    strokeStyle: '' as unknown,
    fillStyle: '' as unknown,
    lineWidth: 1,
    font: '',
    textAlign: 'left' as CanvasTextAlign,
    textBaseline: 'alphabetic' as CanvasTextBaseline,
  };
  return {
    calls,
    ctx: ctx as unknown as OverlayTarget['ctx'],
    bbox: { left: 50, top: 10, width: 200, height: 100 },
    // x: -10 s -> 50 px, +10 s -> 250 px; y: 0 -> 110 px (bottom), 100 -> 10 px (top)
    valToPos: (v, scale) => (scale === 'x' ? 50 + ((v + 10) / 20) * 200 : 110 - v),
  };
}

const formatTickBytes = (v: number): string => formatTick(v, 'bytes');

/** Straight segments drawn: [x0, y0, x1, y1]. */
function segments(calls: Array<[string, ...unknown[]]>): number[][] {
  const out: number[][] = [];
  let from: number[] | null = null;
  for (const [name, ...args] of calls) {
    if (name === 'moveTo') from = args as number[];
    if (name === 'lineTo' && from) out.push([...from, ...(args as number[])]);
  }
  return out;
}

describe('toColumns', () => {
  it('puts time relative to the trigger and keeps gaps as null', () => {
    const [x, y] = toColumns(cpu, FIRED);
    expect(x.map((v) => Math.round(v * 1000) / 1000)).toEqual([-3, -2, -1, 0, 1]);
    expect(y).toEqual([12.5, 85, 97.5, 96.1, null]);
  });

  it('sorts out-of-order samples and ignores a ragged tail', () => {
    const [x, y] = toColumns({ name: 'a', unit: 'count', t: [12, 10, 11, 13], v: [3, 1, 2] }, 10);
    expect(x).toEqual([0, 1, 2]);
    expect(y).toEqual([1, 2, 3]);
  });
});

describe('yRange', () => {
  it('always includes the threshold', () => {
    const [lo, hi] = yRange(20, 60, 'count', 80);
    expect(lo).toBe(0);
    expect(hi).toBeGreaterThan(80);
    const [lo2] = yRange(5e9, 6e9, 'bytes', 1e9);
    expect(lo2).toBeLessThanOrEqual(1e9);
  });

  it('keeps percent within 0-100 when the data is', () => {
    expect(yRange(12.5, 97.5, 'percent', 80)).toEqual([0, 100]);
    // a line along 100 % keeps a little room above it
    expect(yRange(12.5, 100, 'percent', 80)).toEqual([0, 104]);
    expect(yRange(10, 120, 'percent', null)[1]).toBeGreaterThan(120);
  });

  it('pads both sides for units that may go negative', () => {
    const [lo, hi] = yRange(-5, 5, 'celsius', null);
    expect(lo).toBeLessThan(-5);
    expect(hi).toBeGreaterThan(5);
  });

  it('gives a usable range for flat or missing data', () => {
    const [lo, hi] = yRange(3, 3, 'count', null);
    expect(hi).toBeGreaterThan(lo);
    expect(yRange(null, null, 'count', null)).toEqual([0, 1]);
    expect(yRange(null, null, 'percent', 90)).toEqual([0, 97.2]);
  });
});

describe('drawOverlays', () => {
  it('draws the trigger marker as a vertical line at x = 0 across the plot, with its label', () => {
    const u = fakeChart();
    const x = drawOverlays(u, { ...NO_OVERLAYS, markerLabel: 'T+0' }, COLORS);
    expect(x).toBe(150);
    expect(segments(u.calls)).toEqual([[150, 10, 150, 110]]);
    expect(u.calls).toContainEqual(['fillText', 'T+0', 154, 12]);
    expect(u.ctx.strokeStyle).toBe(COLORS.marker);
  });

  it('draws thresholds as dashed horizontal lines at their values', () => {
    const u = fakeChart();
    drawOverlays(u, { ...NO_OVERLAYS, thresholds: [{ y: 80, label: 'limit 80%' }] }, COLORS);
    expect(segments(u.calls)).toContainEqual([50, 30, 250, 30]);
    expect(u.calls).toContainEqual(['fillText', 'limit 80%', 56, 27]);
    expect(u.calls.some(([n, a]) => n === 'setLineDash' && Array.isArray(a) && a.length === 2)).toBe(true);
  });

  it('draws deploys as vertical lines, and the marker last, on top', () => {
    const u = fakeChart();
    drawOverlays(u, { ...NO_OVERLAYS, deploys: [{ x: -5, label: 'checkout 2.0.0' }] }, COLORS);
    const segs = segments(u.calls);
    expect(segs).toEqual([
      [100, 10, 100, 110],
      [150, 10, 150, 110],
    ]);
    expect(u.calls).toContainEqual(['fillText', 'checkout 2.0.0', 104, 107]);
    expect(u.ctx.strokeStyle).toBe(COLORS.marker);
  });

  it('shades the time the condition held, up to the trigger', () => {
    const u = fakeChart();
    drawOverlays(u, { ...NO_OVERLAYS, sinceX: -4 }, COLORS);
    expect(u.calls).toContainEqual(['fillRect', 110, 10, 40, 100]);
  });

  it('skips what falls outside the plot and says the marker is out of view', () => {
    const u = fakeChart();
    u.valToPos = (v, scale) => (scale === 'x' ? 50 + ((v - 100) / 20) * 200 : 110 - v);
    const x = drawOverlays(u, { ...NO_OVERLAYS, thresholds: [{ y: 500, label: null }], deploys: [{ x: 0, label: 'd' }] }, COLORS, 2);
    expect(x).toBeNull();
    expect(segments(u.calls)).toEqual([]);
  });
});

describe('byte axes', () => {
  it('step in powers of two so ticks read cleanly', () => {
    expect(BYTE_INCRS).toContain(1024 ** 3);
    expect(BYTE_INCRS).toContain(256 * 1024 ** 2);
    expect(BYTE_INCRS).not.toContain(500 * 1024 ** 2);
    expect([3, 5, 6].map((k) => formatTickBytes(k * 256 * 1024 ** 2))).toEqual(['768 MiB', '1.25 GiB', '1.5 GiB']);
  });
});

describe('seriesStats', () => {
  it('skips nulls', () => {
    expect(seriesStats(cpu)).toEqual({ last: 96.1, min: 12.5, max: 97.5 });
    expect(seriesStats({ name: 'x', unit: '', t: [], v: [] })).toEqual({ last: null, min: null, max: null });
  });
});

describe('formatTick on a nearly flat percent series', () => {
  it('gives distinct labels to small ticks', () => {
    const ticks = [0, 0.025, 0.05, 0.075, 0.1].map((v) => formatTick(v, 'percent'));
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks).toEqual(['0%', '0.025%', '0.05%', '0.075%', '0.1%']);
    expect(formatTick(42.5, 'percent')).toBe('42.5%');
  });
});
