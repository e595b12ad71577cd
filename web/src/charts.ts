// uPlot options for one series, built by a pure function so the axes, the
// trigger marker and the threshold line can be unit-tested without a browser.
// Only types are imported from uplot here; views/incident.ts creates the charts.

import type uPlot from 'uplot';
import { conditionLimits, type Evidence, type SeriesData } from './api';
import { formatBytes, formatCondition, formatNumber, formatPercent, formatRelative, formatValue } from './format';

export const COLORS = {
  line: '#1d4ed8',
  fill: 'rgba(29, 78, 216, 0.08)',
  marker: '#c81e1e',
  band: 'rgba(200, 30, 30, 0.07)',
  threshold: '#b45309',
  axis: '#374151',
  grid: 'rgba(17, 24, 39, 0.08)',
} as const;

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** What is drawn over the series, in chart coordinates (x: seconds relative to the trigger). */
export interface Overlays {
  /** x of the trigger marker: the trigger is time zero. */
  markerX: number;
  /** The evidence limit, drawn as a horizontal line, or null on other charts. */
  threshold: number | null;
  /** Text next to the threshold line, e.g. `above 80%`. */
  thresholdLabel: string | null;
  /** Where the condition started to hold without a break (relative seconds), shaded up to the marker. */
  sinceX: number | null;
}

export interface ChartInput {
  series: SeriesData;
  /** `trigger.fired_at` as Unix seconds: time zero on the x axis. */
  firedAt: number;
  /** The evidence about this series, if the rule watched it. */
  evidence?: Evidence | undefined;
  /** `since` of that evidence, as Unix seconds. */
  evidenceSince?: number | undefined;
  /** The bundle window as Unix seconds, so every chart of an incident shows the same span. */
  window?: { start: number; end: number } | undefined;
  width: number;
  height: number;
  /** Charts with the same key share the cursor. */
  syncKey?: string;
}

export interface ChartSpec {
  options: uPlot.Options;
  data: uPlot.AlignedData;
  overlays: Overlays;
}

/**
 * The samples as chart columns: x in seconds relative to `firedAt`, sorted;
 * y with missing or non-finite values as `null` (drawn as gaps).
 */
export function toColumns(series: SeriesData, firedAt: number): [number[], Array<number | null>] {
  const n = Math.min(series.t.length, series.v.length);
  const rows: Array<[number, number | null]> = [];
  for (let i = 0; i < n; i += 1) {
    const t = series.t[i];
    const v = series.v[i];
    if (typeof t !== 'number' || !Number.isFinite(t)) continue;
    rows.push([t - firedAt, typeof v === 'number' && Number.isFinite(v) ? v : null]);
  }
  let sorted = true;
  for (let i = 1; i < rows.length && sorted; i += 1) sorted = rows[i - 1]![0] <= rows[i]![0];
  if (!sorted) rows.sort((a, b) => a[0] - b[0]);
  return [rows.map((r) => r[0]), rows.map((r) => r[1])];
}

/** Units whose values are never negative, so their y axis starts at zero. */
const ZERO_BASED = new Set(['percent', 'bytes', 'count']);

/**
 * The y range for data in `[dataMin, dataMax]`, stretched so the threshold is
 * always visible, with a little headroom. Percent stays within 0–100 when the
 * data does.
 */
export function yRange(
  dataMin: number | null,
  dataMax: number | null,
  unit: string,
  threshold: number | null,
): [number, number] {
  let lo = dataMin ?? Number.NaN;
  let hi = dataMax ?? Number.NaN;
  if (threshold !== null && Number.isFinite(threshold)) {
    lo = Number.isFinite(lo) ? Math.min(lo, threshold) : threshold;
    hi = Number.isFinite(hi) ? Math.max(hi, threshold) : threshold;
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return unit === 'percent' ? [0, 100] : [0, 1];
  const zeroBased = ZERO_BASED.has(unit) && lo >= 0;
  if (zeroBased) lo = 0;
  const span = hi - lo || Math.abs(hi) || 1;
  let top = hi + span * 0.08;
  const bottom = zeroBased ? 0 : lo - span * 0.08;
  if (unit === 'percent' && hi <= 100 && top > 100) top = 100;
  return [bottom, top];
}

/**
 * The x range: the whole bundle window and the trigger when the chart shows
 * all of its data, or exactly what the user zoomed to otherwise.
 */
export function xRange(
  min: number,
  max: number,
  data: { min: number; max: number } | null,
  full: { start: number; end: number } | null,
): [number, number] {
  const showsAll = data === null || (min <= data.min && max >= data.max);
  if (!showsAll) return [min, max];
  let lo = Math.min(0, Number.isFinite(min) ? min : 0);
  let hi = Math.max(0, Number.isFinite(max) ? max : 0);
  if (full) {
    lo = Math.min(lo, full.start);
    hi = Math.max(hi, full.end);
  }
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}

/**
 * Tick steps for byte axes: powers of two, so ticks land on 256 MiB, 512 MiB,
 * 1 GiB, 1.25 GiB… rather than on decimal steps that print as 1.46 GiB.
 */
export const BYTE_INCRS: number[] = Array.from({ length: 61 }, (_, k) => 2 ** k);

/** One y tick label. */
export function formatTick(value: number, unit: string): string {
  switch (unit) {
    case 'percent':
      // A nearly flat series gets ticks like 0.025%: one decimal would print
      // the same label several times.
      return Math.abs(value) < 1 && value !== 0 ? `${formatNumber(value, 3)}%` : formatPercent(value);
    case 'bytes':
      return formatBytes(value);
    default:
      return formatNumber(value, 3);
  }
}

/** The minimal part of a uPlot instance `drawOverlays` uses (a fake in tests). */
export interface OverlayTarget {
  ctx: Pick<
    CanvasRenderingContext2D,
    | 'save' | 'restore' | 'beginPath' | 'moveTo' | 'lineTo' | 'stroke' | 'fillRect' | 'fillText'
    | 'setLineDash' | 'rect' | 'clip'
  > & {
    strokeStyle: unknown;
    fillStyle: unknown;
    lineWidth: number;
    font: string;
    textAlign: CanvasTextAlign;
    textBaseline: CanvasTextBaseline;
  };
  /** Plotting area in canvas pixels. */
  bbox: { left: number; top: number; width: number; height: number };
  valToPos(value: number, scaleKey: string, canvasPixels?: boolean): number;
}

/**
 * Draws the "condition held" band, the threshold line and the trigger marker
 * over the plotting area. Positions come from the chart's own scales, so the
 * overlays follow zooming and resizing. `pxRatio` scales line widths and text.
 */
export function drawOverlays(u: OverlayTarget, o: Overlays, pxRatio = 1): void {
  const { ctx, bbox } = u;
  const left = bbox.left;
  const right = bbox.left + bbox.width;
  const top = bbox.top;
  const bottom = bbox.top + bbox.height;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, bbox.width, bbox.height);
  ctx.clip();

  if (o.sinceX !== null) {
    const x0 = Math.max(left, u.valToPos(o.sinceX, 'x', true));
    const x1 = Math.min(right, u.valToPos(o.markerX, 'x', true));
    if (x1 > x0) {
      ctx.fillStyle = COLORS.band;
      ctx.fillRect(x0, top, x1 - x0, bbox.height);
    }
  }

  ctx.font = `${Math.round(11 * pxRatio)}px ${FONT}`;
  ctx.textBaseline = 'bottom';

  if (o.threshold !== null) {
    const y = Math.round(u.valToPos(o.threshold, 'y', true));
    if (y >= top && y <= bottom) {
      ctx.strokeStyle = COLORS.threshold;
      ctx.lineWidth = 1.5 * pxRatio;
      ctx.setLineDash([6 * pxRatio, 4 * pxRatio]);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(right, y);
      ctx.stroke();
      ctx.setLineDash([]);
      if (o.thresholdLabel) {
        ctx.fillStyle = COLORS.threshold;
        ctx.textAlign = 'left';
        ctx.fillText(o.thresholdLabel, left + 6 * pxRatio, y - 3 * pxRatio);
      }
    }
  }

  const x = Math.round(u.valToPos(o.markerX, 'x', true));
  if (x >= left && x <= right) {
    ctx.strokeStyle = COLORS.marker;
    ctx.lineWidth = 2 * pxRatio;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, bottom);
    ctx.stroke();
    ctx.fillStyle = COLORS.marker;
    ctx.textBaseline = 'top';
    // Keep the label inside the plot when the trigger is near the right edge.
    const nearRight = x > right - 60 * pxRatio;
    ctx.textAlign = nearRight ? 'right' : 'left';
    ctx.fillText('trigger', x + (nearRight ? -4 : 4) * pxRatio, top + 3 * pxRatio);
  }
  ctx.restore();
}

function currentPxRatio(): number {
  const r = (globalThis as { devicePixelRatio?: number }).devicePixelRatio;
  return typeof r === 'number' && r > 0 ? r : 1;
}

/** uPlot options and data for one series of an incident. */
export function buildChart(input: ChartInput): ChartSpec {
  const { series, firedAt, evidence } = input;
  const unit = series.unit;
  const [xs, ys] = toColumns(series, firedAt);

  // A band draws its lower edge, labelled with both; a text state draws no line.
  const threshold = evidence ? (conditionLimits(evidence.condition)[0] ?? null) : null;
  const overlays: Overlays = {
    markerX: 0,
    threshold,
    thresholdLabel: evidence ? `threshold: ${formatCondition(evidence.condition, unit)}` : null,
    sinceX:
      input.evidenceSince !== undefined && Number.isFinite(input.evidenceSince)
        ? input.evidenceSince - firedAt
        : null,
  };

  const dataExtent = xs.length > 0 ? { min: xs[0]!, max: xs[xs.length - 1]! } : null;
  const fullX = input.window
    ? { start: input.window.start - firedAt, end: input.window.end - firedAt }
    : null;

  const axisCommon = {
    stroke: COLORS.axis,
    font: `12px ${FONT}`,
    labelFont: `12px ${FONT}`,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { stroke: COLORS.grid, width: 1 },
  };

  const yAxis: uPlot.Axis = {
    ...axisCommon,
    label: unit || 'value',
    // One width for every unit so the plots of an incident line up under each other.
    size: 76,
    values: (_u, splits) => splits.map((v) => formatTick(v, unit)),
  };
  if (unit === 'bytes') yAxis.incrs = BYTE_INCRS;

  const options: uPlot.Options = {
    width: Math.max(200, Math.floor(input.width)),
    height: Math.max(120, Math.floor(input.height)),
    cursor: {
      drag: { x: true, y: false },
      ...(input.syncKey ? { sync: { key: input.syncKey } } : {}),
    },
    legend: { show: true, live: true },
    scales: {
      x: {
        time: false,
        range: (_u, min, max) => xRange(min, max, dataExtent, fullX),
      },
      y: {
        range: (_u, min, max) => yRange(min, max, unit, threshold),
      },
    },
    axes: [
      {
        ...axisCommon,
        label: 'time relative to trigger',
        values: (_u, splits) => splits.map((s) => formatRelative(s)),
      },
      yAxis,
    ],
    series: [
      { label: 'time', value: (_u, v) => (v === null || v === undefined ? '—' : formatRelative(v, 2)) },
      {
        label: series.name,
        stroke: COLORS.line,
        fill: COLORS.fill,
        width: 1.5,
        points: { show: false },
        spanGaps: false,
        value: (_u, v) => formatValue(v, unit),
      },
    ],
    hooks: {
      draw: [(u) => drawOverlays(u as unknown as OverlayTarget, overlays, currentPxRatio())],
    },
  };

  return { options, data: [xs, ys], overlays };
}

/** The latest and the extreme values of a series, for the chart header. */
export function seriesStats(series: SeriesData): { last: number | null; min: number | null; max: number | null } {
  let last: number | null = null;
  let min: number | null = null;
  let max: number | null = null;
  const n = Math.min(series.t.length, series.v.length);
  for (let i = 0; i < n; i += 1) {
    const v = series.v[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    last = v;
    min = min === null ? v : Math.min(min, v);
    max = max === null ? v : Math.max(max, v);
  }
  return { last, min, max };
}
