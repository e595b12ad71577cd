import type uPlot from 'uplot';
import { describe, expect, it } from 'vitest';
import type { Evidence, SeriesData } from './api';
import {
  BYTE_INCRS,
  COLORS,
  buildChart,
  drawOverlays,
  formatTick,
  seriesStats,
  toColumns,
  xRange,
  yRange,
  type OverlayTarget,
} from './charts';

const FIRED = 1_763_892_005.1;

const cpu: SeriesData = {
  name: 'cpu.total.busy_pct',
  unit: 'percent',
  t: [FIRED - 3, FIRED - 2, FIRED - 1, FIRED, FIRED + 1],
  v: [12.5, 85, 97.5, 96.1, null],
};

const cpuEvidence: Evidence = {
  series: 'cpu.total.busy_pct',
  condition: { above: 80 },
  observed: 96.1,
  peak: 97.5,
  since: '2026-11-23T10:00:03.100Z',
  samples: 21,
};

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

describe('xRange', () => {
  it('shows the whole bundle window and the trigger when not zoomed', () => {
    expect(xRange(-3, 1, { min: -3, max: 1 }, { start: -60, end: 3 })).toEqual([-60, 3]);
    // the trigger stays in view even when the data stops before it
    expect(xRange(-10, -2, { min: -10, max: -2 }, null)).toEqual([-10, 0]);
  });

  it('keeps what the user zoomed to', () => {
    expect(xRange(-2, -1, { min: -3, max: 1 }, { start: -60, end: 3 })).toEqual([-2, -1]);
  });
});

describe('drawOverlays', () => {
  it('draws the trigger marker as a vertical line at x = 0 across the plot', () => {
    const u = fakeChart();
    drawOverlays(u, { markerX: 0, threshold: null, thresholdLabel: null, sinceX: null });
    expect(segments(u.calls)).toEqual([[150, 10, 150, 110]]);
    expect(u.calls).toContainEqual(['fillText', 'trigger', 154, 13]);
  });

  it('draws the threshold as a dashed horizontal line at its value', () => {
    const u = fakeChart();
    drawOverlays(u, { markerX: 0, threshold: 80, thresholdLabel: 'threshold: above 80%', sinceX: null });
    const segs = segments(u.calls);
    expect(segs).toContainEqual([50, 30, 250, 30]); // y(80) = 110 - 80
    expect(segs).toContainEqual([150, 10, 150, 110]);
    expect(u.calls).toContainEqual(['setLineDash', [6, 4]]);
    expect(u.calls.find((c) => c[0] === 'fillText' && c[1] === 'threshold: above 80%')).toBeTruthy();
  });

  it('shades the time the condition held, up to the trigger', () => {
    const u = fakeChart();
    drawOverlays(u, { markerX: 0, threshold: null, thresholdLabel: null, sinceX: -2 });
    expect(u.calls).toContainEqual(['fillRect', 130, 10, 20, 100]);
  });

  it('skips lines that fall outside the plot and scales with the pixel ratio', () => {
    const u = fakeChart();
    u.valToPos = (v, scale) => (scale === 'x' ? 1000 + v : 500 - v); // both off-canvas
    drawOverlays(u, { markerX: 0, threshold: 80, thresholdLabel: 'x', sinceX: null }, 2);
    expect(segments(u.calls)).toEqual([]);
    expect(u.ctx.font.startsWith('22px')).toBe(true);
    expect(u.calls[0]?.[0]).toBe('save');
    expect(u.calls.at(-1)?.[0]).toBe('restore');
  });
});

describe('buildChart', () => {
  const spec = buildChart({
    series: cpu,
    firedAt: FIRED,
    evidence: cpuEvidence,
    evidenceSince: FIRED - 2,
    window: { start: FIRED - 60, end: FIRED + 3 },
    width: 640,
    height: 220,
    syncKey: 'incident-1',
  });

  it('feeds uPlot relative seconds and the values', () => {
    expect(spec.data[0].length).toBe(5);
    expect(spec.data[0][3]).toBe(0);
    expect(spec.data[1]).toEqual([12.5, 85, 97.5, 96.1, null]);
    expect(spec.options.width).toBe(640);
    expect(spec.options.height).toBe(220);
  });

  it('marks the trigger at zero and the threshold from the evidence', () => {
    expect(spec.overlays).toEqual({
      markerX: 0,
      threshold: 80,
      thresholdLabel: 'threshold: above 80%',
      sinceX: -2,
    });
  });

  it('draws the overlays from its draw hook', () => {
    const hook = spec.options.hooks?.draw;
    const draw = Array.isArray(hook) ? hook[0] : hook;
    expect(draw).toBeTypeOf('function');
    const u = fakeChart();
    draw!(u as unknown as uPlot);
    const segs = segments(u.calls);
    expect(segs).toContainEqual([150, 10, 150, 110]);
    expect(segs).toContainEqual([50, 30, 250, 30]);
    expect(u.ctx.strokeStyle).toBe(COLORS.marker); // the marker is drawn last, on top
  });

  it('labels the axes with relative time and the unit', () => {
    const [xAxis, yAxis] = spec.options.axes!;
    const fakeU = {} as uPlot;
    expect(xAxis!.label).toBe('time relative to trigger');
    const xValues = xAxis!.values as (u: uPlot, s: number[], i: number, sp: number, inc: number) => unknown[];
    expect(xValues(fakeU, [-30, -15, 0, 2.5], 0, 50, 15)).toEqual(['T-30s', 'T-15s', 'T+0s', 'T+2.5s']);
    expect(yAxis!.label).toBe('percent');
    const yValues = yAxis!.values as typeof xValues;
    expect(yValues(fakeU, [0, 50, 100], 1, 50, 50)).toEqual(['0%', '50%', '100%']);
    expect(spec.options.scales!['x']!.time).toBe(false);
  });

  it('ranges the y scale to include the threshold', () => {
    const range = spec.options.scales!['y']!.range as (u: uPlot, min: number, max: number, k: string) => number[];
    const [lo, hi] = range({} as uPlot, 20, 40, 'y');
    expect(lo).toBe(0);
    expect(hi).toBeGreaterThan(80);
  });

  it('shares the cursor between charts of the same incident', () => {
    expect(spec.options.cursor?.sync?.key).toBe('incident-1');
  });

  it('formats byte axes in binary units on binary steps', () => {
    const mem = buildChart({
      series: { name: 'memory.available_bytes', unit: 'bytes', t: [FIRED], v: [3 * 1024 ** 3] },
      firedAt: FIRED,
      width: 640,
      height: 220,
    });
    const yAxis = mem.options.axes![1]!;
    const values = yAxis.values as (u: uPlot, s: number[]) => unknown[];
    expect(values({} as uPlot, [0, 1024 ** 3, 2 * 1024 ** 3])).toEqual(['0 B', '1 GiB', '2 GiB']);
    expect(yAxis.incrs).toBe(BYTE_INCRS);
    expect(BYTE_INCRS).toContain(1024 ** 3);
    expect(BYTE_INCRS).toContain(256 * 1024 ** 2);
    expect(BYTE_INCRS).not.toContain(500 * 1024 ** 2);
    // every step of 256 MiB reads cleanly
    expect([3, 5, 6].map((k) => formatTickBytes(k * 256 * 1024 ** 2))).toEqual(['768 MiB', '1.25 GiB', '1.5 GiB']);
    expect(mem.overlays.threshold).toBeNull();
    expect(mem.overlays.sinceX).toBeNull();
  });

  it('formats legend values in the unit', () => {
    const s = spec.options.series[1]!;
    const value = s.value as (u: uPlot, v: number | null, si: number, i: number) => string;
    expect(value({} as uPlot, 97.5, 1, 2)).toBe('97.5%');
    expect(value({} as uPlot, null, 1, 4)).toBe('—');
    expect(s.label).toBe('cpu.total.busy_pct');
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
