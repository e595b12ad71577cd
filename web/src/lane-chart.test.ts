import type uPlot from 'uplot';
import { describe, expect, it } from 'vitest';
import type { Evidence, SeriesData } from './api';
import { BYTE_INCRS } from './charts';
import { placeEvents } from './events';
import { buildEventsChart, buildLaneChart, eventsLaneHeight, isStepped, rowY, type LaneContext } from './lane-chart';
import { groupLanes } from './lanes';
import { colorsFor } from './theme';

const FIRED = 1_795_462_194.861;

const errorRate: SeriesData = { name: 'checkout/error_rate', unit: '', t: [FIRED - 2, FIRED - 1, FIRED, FIRED + 1], v: [0.0099, 0.0101, 0.059, null] };
const evidence: Evidence = {
  series: 'checkout/error_rate',
  condition: { above: 0.00992 },
  observed: 0.059,
  peak: 0.059,
  since: new Date((FIRED - 4) * 1000).toISOString(),
  samples: 9,
  baseline: { level: 0.00992, spread: 0.00047, samples: 89, window_nanos: 90e9 },
  text: 'checkout/error_rate rose 495.2%',
};

function ctx(over: Partial<LaneContext> = {}): LaneContext {
  return {
    firedAt: FIRED,
    view: () => ({ min: -60, max: 10 }),
    colors: colorsFor('light'),
    width: 800,
    height: 110,
    syncKey: 'k',
    xAxis: 'bottom',
    deploys: [{ x: -4.9, label: 'checkout 2.0.0' }],
    markerLabel: null,
    ...over,
  };
}

/** A fake uPlot enough for the draw hook: 100 px per 10 s, T+0 at 650 px. */
function fakePlot(): uPlot {
  const noop = (): void => undefined;
  const ctx2d = new Proxy({}, { get: (t: Record<string, unknown>, k: string) => (k in t ? t[k] : noop), set: (t, k: string, v) => ((t[k] = v), true) });
  return {
    ctx: ctx2d,
    bbox: { left: 50, top: 0, width: 700, height: 100 },
    valToPos: (v: number, scale: string) => (scale === 'x' ? 650 + v * 10 : 100 - v),
  } as unknown as uPlot;
}

describe('buildLaneChart', () => {
  const lane = groupLanes([errorRate], ['checkout/error_rate']).key[0]!;
  const drawn: Array<number | null> = [];
  const spec = buildLaneChart(lane, new Map([[evidence.series, evidence]]), ctx({ onDrawn: (x) => drawn.push(x) }));

  it('feeds uPlot seconds relative to T+0 and the values', () => {
    expect(spec.data[0].map((x) => Math.round(x * 1000) / 1000)).toEqual([-2, -1, 0, 1]);
    expect(spec.data[1]).toEqual([0.0099, 0.0101, 0.059, null]);
    expect(spec.columns).toHaveLength(1);
  });

  it('draws the baseline of a regression, the deploy, and T+0', () => {
    expect(spec.overlays.thresholds).toEqual([{ y: 0.00992, label: 'baseline 0.00992' }]);
    expect(spec.overlays.deploys).toEqual([{ x: -4.9, label: 'checkout 2.0.0' }]);
    expect(spec.overlays.sinceX).toBeCloseTo(-4, 3);
    const hooks = spec.options.hooks!.draw!;
    (Array.isArray(hooks) ? hooks[0]! : hooks)(fakePlot());
    expect(drawn).toEqual([650]);
  });

  it('follows the shared view on x and keeps the baseline in view on y', () => {
    const x = spec.options.scales!['x']!.range as (u: uPlot, a: number, b: number, k: string) => number[];
    expect(x({} as uPlot, -1, 1, 'x')).toEqual([-60, 10]);
    const y = spec.options.scales!['y']!.range as (u: uPlot, a: number | null, b: number | null, k: string) => number[];
    const [lo, hi] = y({} as uPlot, 0.05, 0.06, 'y');
    expect(lo).toBeLessThan(0.00992);
    expect(hi).toBeGreaterThan(0.06);
  });

  it('shares the cursor, leaves zooming to the shared axis, and formats values', () => {
    expect(spec.options.cursor?.sync?.key).toBe('k');
    expect(spec.options.cursor?.drag?.setScale).toBe(false);
    const s = spec.options.series[1]!;
    expect((s.value as (u: uPlot, v: number | null) => string)({} as uPlot, 0.00992)).toBe('0.00992');
    expect(s.width).toBe(2);
  });

  it('labels relative time on the x axis only where asked', () => {
    const axis = spec.options.axes![0]!;
    expect((axis.values as (u: uPlot, s: number[]) => string[])({} as uPlot, [-30, 0, 2.5])).toEqual(['T-30s', 'T+0s', 'T+2.5s']);
    const bare = buildLaneChart(lane, new Map(), ctx({ xAxis: 'none' })).options.axes![0]!;
    expect((bare.values as (u: uPlot, s: number[]) => string[])({} as uPlot, [-30, 0])).toEqual(['', '']);
  });

  it('formats byte axes on binary steps and draws node states as steps', () => {
    const mem = groupLanes([{ name: 'process.planner.rss_bytes', unit: 'bytes', t: [FIRED], v: [3 * 1024 ** 3] }], []).key[0]!;
    const yAxis = buildLaneChart(mem, new Map(), ctx()).options.axes![1]!;
    expect((yAxis.values as (u: uPlot, s: number[]) => string[])({} as uPlot, [0, 1024 ** 3])).toEqual(['0 B', '1 GiB']);
    expect(yAxis.incrs).toBe(BYTE_INCRS);
    const nodes = groupLanes([{ name: 'node.planner.alive', unit: 'bool', t: [FIRED], v: [1] }], []).key[0]!;
    expect(isStepped(nodes)).toBe(true);
    expect(isStepped(mem)).toBe(false);
  });
});

describe('buildEventsChart', () => {
  const placement = placeEvents({
    firedAt: FIRED,
    triggerSummary: 's',
    deploys: [{ id: 'd', at: FIRED - 4.9, service: 'checkout', version: '2.0.0' }],
    events: [{ ts: new Date((FIRED - 4) * 1000).toISOString(), source: 'api', kind: 'log', level: 'error', message: 'm' }],
  });
  const spec = buildEventsChart(placement, ctx({ xAxis: 'top', markerLabel: 'T+0' }));

  it('has a row per kind of event, the trigger on top', () => {
    expect(placement.rows).toEqual(['trigger', 'deploy', 'log']);
    expect(rowY(placement.rows, 'trigger')).toBe(2);
    expect(rowY(placement.rows, 'log')).toBe(0);
    const axis = spec.options.axes![1]!;
    const splits = (axis.splits as () => number[])();
    expect((axis.values as (u: uPlot, s: number[]) => string[])({} as uPlot, splits)).toEqual(['Logs', 'Deploys', 'Trigger']);
    expect(spec.options.height).toBe(eventsLaneHeight(3, 'top'));
  });

  it('labels T+0 and draws the deploys across it', () => {
    expect(spec.overlays.markerLabel).toBe('T+0');
    expect(spec.overlays.deploys).toEqual([{ x: -4.9, label: null }]);
    expect(spec.data[0]).toHaveLength(3);
  });
});
