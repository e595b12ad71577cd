// uPlot options for the lanes of the correlation timeline: a metric lane
// (several series of one unit) and the events lane. Built by pure functions
// so axes, overlays and data are unit-tested without a browser; the view
// (views/timeline.ts) adds the interaction and creates the charts.

import uPlot from 'uplot';
import { conditionLimits, type Evidence } from './api';
import {
  BYTE_INCRS,
  chartFont,
  currentPxRatio,
  drawOverlays,
  formatTick,
  toColumns,
  yRange,
  type OverlayTarget,
  type Overlays,
} from './charts';
import { ROW_LABELS, type EventMark, type EventRow, type Placement } from './events';
import { formatRelativeTicks, formatValue, parseTimestamp } from './format';
import { alignColumns, type Lane } from './lanes';
import type { ChartColors } from './theme';
import type { XView } from './timescale';

/** Width of every lane's y axis, so the plots line up under each other. */
export const Y_AXIS_SIZE = 72;

export interface LaneContext {
  /** `trigger.fired_at` as Unix seconds: time zero. */
  firedAt: number;
  /** The shared view, read by every lane's x range. */
  view: () => XView;
  colors: ChartColors;
  width: number;
  height: number;
  syncKey: string;
  /** Where the x axis labels go: above the plot, below it, or nowhere (grid only). */
  xAxis: 'top' | 'bottom' | 'none';
  /** Deploys as x (relative seconds). */
  deploys: Array<{ x: number; label: string | null }>;
  /** Text at the top of the T+0 marker. */
  markerLabel: string | null;
  /** Told where the T+0 marker was drawn (canvas pixels), or null when it is out of view. */
  onDrawn?: (markerX: number | null) => void;
}

export interface LaneSpec {
  options: uPlot.Options;
  data: uPlot.AlignedData;
  overlays: Overlays;
  /** Each series' own columns (relative seconds, values), for the hover readout. */
  columns: Array<[number[], Array<number | null>]>;
}

/** Series drawn as steps: states and flags (0/1), not quantities. */
export function isStepped(lane: Pick<Lane, 'id' | 'unit' | 'series'>): boolean {
  return (
    lane.id.startsWith('nodes') ||
    lane.unit === 'bool' ||
    lane.unit === 'state' ||
    lane.series.every((s) => /(alive|throttle_[a-z_]+)$/.test(s.name))
  );
}

function xAxis(ctx: LaneContext): uPlot.Axis {
  const c = ctx.colors;
  const common = {
    stroke: c.axis,
    grid: { stroke: c.grid, width: 1 },
    ticks: { stroke: c.grid, width: 1, size: 4 },
    font: chartFont(11),
  };
  if (ctx.xAxis === 'none') {
    return { ...common, side: 2, size: 4, values: (_u, splits) => splits.map(() => ''), ticks: { show: false } };
  }
  return {
    ...common,
    side: ctx.xAxis === 'top' ? 0 : 2,
    size: 26,
    gap: 3,
    values: (_u, splits) => formatRelativeTicks(splits),
  };
}

function threshold(e: Evidence): Array<{ y: number; label: string }> {
  const limits = conditionLimits(e.condition);
  const base = e.baseline ? 'baseline' : 'limit';
  return limits.map((y) => ({ y, label: `${base} ${formatValue(y, '')}` }));
}

/** Options and data for one metric lane. */
export function buildLaneChart(lane: Lane, evidence: ReadonlyMap<string, Evidence>, ctx: LaneContext): LaneSpec {
  const c = ctx.colors;
  const unit = lane.unit;
  const columns = lane.series.map((s) => toColumns(s, ctx.firedAt));
  const data = alignColumns(columns) as uPlot.AlignedData;

  const laneEvidence = lane.series.map((s) => evidence.get(s.name)).filter((e): e is Evidence => !!e);
  const thresholds = laneEvidence.flatMap((e) =>
    threshold(e).map((t) => ({ y: t.y, label: `${t.label.replace(/ .*$/, '')} ${formatValue(t.y, unit)}` })),
  );
  const sinceTimes = laneEvidence
    .map((e) => parseTimestamp(e.since))
    .filter((t) => Number.isFinite(t));
  const overlays: Overlays = {
    markerX: 0,
    markerLabel: ctx.markerLabel,
    deploys: ctx.deploys,
    thresholds,
    sinceX: sinceTimes.length > 0 ? Math.min(...sinceTimes) - ctx.firedAt : null,
  };
  const limits = thresholds.map((t) => t.y);
  const stepped = isStepped(lane);

  const yAxis: uPlot.Axis = {
    stroke: c.axis,
    grid: { stroke: c.grid, width: 1 },
    ticks: { stroke: c.grid, width: 1, size: 4 },
    font: chartFont(11),
    size: Y_AXIS_SIZE,
    gap: 4,
    values: (_u, splits) => splits.map((v) => formatTick(v, unit)),
  };
  if (unit === 'bytes') yAxis.incrs = BYTE_INCRS;
  if (stepped) yAxis.splits = (_u, _i, min, max) => [0, 1].filter((v) => v >= min && v <= max);

  const single = lane.series.length === 1;
  const options: uPlot.Options = {
    width: Math.max(200, Math.floor(ctx.width)),
    height: Math.max(60, Math.floor(ctx.height)),
    cursor: {
      sync: { key: ctx.syncKey, setSeries: false },
      drag: { x: true, y: false, setScale: false },
      points: { size: 6 },
      focus: { prox: -1 },
    },
    select: { show: true, left: 0, top: 0, width: 0, height: 0 },
    legend: { show: false },
    scales: {
      x: { time: false, auto: false, range: () => {
        const v = ctx.view();
        return [v.min, v.max];
      } },
      y: {
        range: (_u, min, max) => {
          if (stepped) return [-0.1, 1.15];
          const lo = limits.length ? Math.min(min ?? Infinity, ...limits) : min;
          const hi = limits.length ? Math.max(max ?? -Infinity, ...limits) : max;
          return yRange(Number.isFinite(lo) ? lo : null, Number.isFinite(hi) ? hi : null, unit, null);
        },
      },
    },
    axes: [xAxis(ctx), yAxis],
    series: [
      { label: 'time' },
      ...lane.series.map((s, i): uPlot.Series => {
        const color = c.series[i % c.series.length]!;
        const emphasised = lane.evidence.includes(s.name) || (lane.key && i === 0);
        return {
          label: s.name,
          stroke: color,
          // Thin lines are hairlines to the rasteriser: much cheaper with many series.
          width: emphasised ? 2 : 1,
          ...(single ? { fill: `${color}1f` } : {}),
          points: { show: false },
          spanGaps: false,
          ...(stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
          value: (_u, v) => formatValue(v, unit),
        };
      }),
    ],
    hooks: {
      draw: [
        (u) => {
          const x = drawOverlays(u as unknown as OverlayTarget, overlays, c, currentPxRatio());
          ctx.onDrawn?.(x);
        },
      ],
    },
  };
  return { options, data, overlays, columns };
}

/** Height the events lane needs for `rows` rows. */
export function eventsLaneHeight(rows: number, xAxis: LaneContext['xAxis']): number {
  return Math.max(1, rows) * 24 + 14 + (xAxis === 'none' ? 4 : 26);
}

/** y of a row: the first row at the top. */
export function rowY(rows: readonly EventRow[], row: EventRow): number {
  const i = rows.indexOf(row);
  return i < 0 ? -1 : rows.length - 1 - i;
}

function markColor(m: EventMark, c: ChartColors): string {
  if (m.row === 'trigger') return c.marker;
  if (m.row === 'deploy') return m.level === 'error' ? c.marker : c.deploy;
  return c.eventLevels[m.level];
}

/** Options and data for the events lane: one row per kind, a mark per event. */
export function buildEventsChart(placement: Placement, ctx: LaneContext): LaneSpec {
  const c = ctx.colors;
  const rows = placement.rows;
  const xs = [...new Set(placement.marks.map((m) => m.x))].sort((a, b) => a - b);
  const data: uPlot.AlignedData = [xs.length ? xs : [0], (xs.length ? xs : [0]).map(() => null)];
  const overlays: Overlays = {
    markerX: 0,
    markerLabel: ctx.markerLabel,
    deploys: ctx.deploys.map((d) => ({ x: d.x, label: null })),
    thresholds: [],
    sinceX: null,
  };
  const options: uPlot.Options = {
    width: Math.max(200, Math.floor(ctx.width)),
    height: eventsLaneHeight(rows.length, ctx.xAxis),
    cursor: {
      sync: { key: ctx.syncKey, setSeries: false },
      drag: { x: true, y: false, setScale: false },
      points: { show: false },
      y: false,
    },
    select: { show: true, left: 0, top: 0, width: 0, height: 0 },
    legend: { show: false },
    scales: {
      x: { time: false, auto: false, range: () => {
        const v = ctx.view();
        return [v.min, v.max];
      } },
      y: { auto: false, range: () => [-0.6, Math.max(1, rows.length) - 0.4] },
    },
    axes: [
      xAxis(ctx),
      {
        stroke: c.text,
        font: chartFont(11, '600'),
        size: Y_AXIS_SIZE,
        gap: 4,
        grid: { stroke: c.grid, width: 1 },
        ticks: { show: false },
        splits: () => rows.map((_, i) => i),
        values: (_u, splits) => splits.map((v) => ROW_LABELS[rows[rows.length - 1 - v]!] ?? ''),
      },
    ],
    series: [{ label: 'time' }, { label: 'events', show: true, stroke: 'transparent', points: { show: false } }],
    hooks: {
      draw: [
        (u) => {
          const pr = currentPxRatio();
          const x0 = drawOverlays(u as unknown as OverlayTarget, overlays, c, pr);
          drawMarks(u, placement.marks, rows, c, pr);
          ctx.onDrawn?.(x0);
        },
      ],
    },
  };
  return { options, data, overlays, columns: [] };
}

function drawMarks(u: uPlot, marks: readonly EventMark[], rows: readonly EventRow[], c: ChartColors, pr: number): void {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
  const r = 5 * pr;
  for (const m of marks) {
    const x = u.valToPos(m.x, 'x', true);
    if (x < bbox.left - r || x > bbox.left + bbox.width + r) continue;
    const y = u.valToPos(rowY(rows, m.row), 'y', true);
    ctx.fillStyle = markColor(m, c);
    ctx.strokeStyle = c.surface;
    ctx.lineWidth = 1 * pr;
    ctx.beginPath();
    if (m.row === 'trigger') {
      // a triangle pointing down at the instant
      ctx.moveTo(x - r * 1.2, y - r);
      ctx.lineTo(x + r * 1.2, y - r);
      ctx.lineTo(x, y + r);
    } else if (m.row === 'deploy') {
      ctx.rect(x - r, y - r, 2 * r, 2 * r);
    } else {
      // a diamond
      ctx.moveTo(x, y - r);
      ctx.lineTo(x + r, y);
      ctx.lineTo(x, y + r);
      ctx.lineTo(x - r, y);
    }
    ctx.closePath();
    ctx.fill();
    ctx.stroke();
  }
  // Labels for the deploys: what was deployed reads at a glance.
  ctx.font = chartFont(Math.round(11 * pr), '600');
  ctx.textBaseline = 'middle';
  for (const m of marks) {
    if (m.row !== 'deploy') continue;
    const x = u.valToPos(m.x, 'x', true);
    const y = u.valToPos(rowY(rows, m.row), 'y', true);
    const nearRight = x > bbox.left + bbox.width - 160 * pr;
    ctx.textAlign = nearRight ? 'right' : 'left';
    ctx.fillStyle = markColor(m, c);
    ctx.fillText(m.title.replace(/^deploy /, ''), x + (nearRight ? -9 : 9) * pr, y);
  }
  ctx.restore();
}
