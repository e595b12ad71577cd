// Chart helpers shared by the lanes of the timeline (lane-chart.ts): data
// columns, y ranges, tick labels, and the overlays drawn over every lane
// (T+0, deploys, thresholds). Pure, so they are unit-tested without a browser.

import type { SeriesData } from './api';
import { formatBytes, formatNumber, formatPercent } from './format';

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

export function chartFont(px: number, weight = ''): string {
  return `${weight ? `${weight} ` : ''}${px}px ${FONT}`;
}

/** What is drawn over a lane, in chart coordinates (x: seconds relative to the trigger). */
export interface Overlays {
  /** x of the trigger marker: the trigger is time zero. */
  markerX: number;
  /** Text at the top of the marker (`T+0`), or null for none. */
  markerLabel: string | null;
  /** Deploys, drawn as dashed vertical lines. */
  deploys: Array<{ x: number; label: string | null }>;
  /** Limits of the evidence in this lane, drawn as dashed horizontal lines. */
  thresholds: Array<{ y: number; label: string | null }>;
  /** Where the condition started to hold without a break, shaded up to the marker. */
  sinceX: number | null;
}

export const NO_OVERLAYS: Overlays = { markerX: 0, markerLabel: null, deploys: [], thresholds: [], sinceX: null };

/** The colours `drawOverlays` uses (theme.ts gives them). */
export interface OverlayColors {
  marker: string;
  deploy: string;
  threshold: string;
  band: string;
}

/**
 * The samples as chart columns: x in seconds relative to `firedAt`, sorted;
 * y with missing or non-finite values as `null` (drawn as gaps).
 */
export function toColumns(series: SeriesData, firedAt: number): [number[], Array<number | null>] {
  const n = Math.min(series.t.length, series.v.length);
  const xs: number[] = [];
  const ys: Array<number | null> = [];
  let sorted = true;
  for (let i = 0; i < n; i += 1) {
    const t = series.t[i];
    const v = series.v[i];
    if (typeof t !== 'number' || !Number.isFinite(t)) continue;
    const x = t - firedAt;
    if (xs.length > 0 && x < xs[xs.length - 1]!) sorted = false;
    xs.push(x);
    ys.push(typeof v === 'number' && Number.isFinite(v) ? v : null);
  }
  if (sorted) return [xs, ys];
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  return [order.map((i) => xs[i]!), order.map((i) => ys[i]!)];
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
  // Percent stays within 0-100 when the data does, but a line along 100 %
  // needs a little room above it to be seen.
  if (unit === 'percent' && hi <= 100 && top > 100) top = hi > 98 ? 104 : 100;
  return [bottom, top];
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

function vline(u: OverlayTarget, x: number, top: number, bottom: number): void {
  u.ctx.beginPath();
  u.ctx.moveTo(x, top);
  u.ctx.lineTo(x, bottom);
  u.ctx.stroke();
}

/**
 * Draws the "condition held" band, the threshold lines, the deploys and the
 * trigger marker over the plotting area, the marker last (on top). Positions
 * come from the chart's own scales, so the overlays follow zooming and
 * resizing. `pxRatio` scales line widths and text. Returns the marker's x in
 * canvas pixels, or null when it is out of view.
 */
export function drawOverlays(u: OverlayTarget, o: Overlays, colors: OverlayColors, pxRatio = 1): number | null {
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
      ctx.fillStyle = colors.band;
      ctx.fillRect(x0, top, x1 - x0, bbox.height);
    }
  }

  ctx.font = chartFont(Math.round(11 * pxRatio));
  ctx.textBaseline = 'bottom';

  for (const t of o.thresholds) {
    const y = Math.round(u.valToPos(t.y, 'y', true));
    if (y < top || y > bottom) continue;
    ctx.strokeStyle = colors.threshold;
    ctx.lineWidth = 1.5 * pxRatio;
    ctx.setLineDash([6 * pxRatio, 4 * pxRatio]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(right, y);
    ctx.stroke();
    ctx.setLineDash([]);
    if (t.label) {
      ctx.fillStyle = colors.threshold;
      ctx.textAlign = 'left';
      ctx.fillText(t.label, left + 6 * pxRatio, y - 3 * pxRatio);
    }
  }

  for (const d of o.deploys) {
    const x = Math.round(u.valToPos(d.x, 'x', true));
    if (x < left || x > right) continue;
    ctx.strokeStyle = colors.deploy;
    ctx.lineWidth = 1.5 * pxRatio;
    ctx.setLineDash([4 * pxRatio, 3 * pxRatio]);
    vline(u, x, top, bottom);
    ctx.setLineDash([]);
    if (d.label) {
      ctx.fillStyle = colors.deploy;
      ctx.textBaseline = 'bottom';
      const nearRight = x > right - 120 * pxRatio;
      ctx.textAlign = nearRight ? 'right' : 'left';
      ctx.fillText(d.label, x + (nearRight ? -4 : 4) * pxRatio, bottom - 3 * pxRatio);
    }
  }

  let markerPos: number | null = null;
  const x = Math.round(u.valToPos(o.markerX, 'x', true));
  if (x >= left && x <= right) {
    markerPos = x;
    ctx.strokeStyle = colors.marker;
    ctx.lineWidth = 2 * pxRatio;
    vline(u, x, top, bottom);
    if (o.markerLabel) {
      ctx.fillStyle = colors.marker;
      ctx.textBaseline = 'top';
      // Keep the label inside the plot when the trigger is near the right edge.
      const nearRight = x > right - 40 * pxRatio;
      ctx.textAlign = nearRight ? 'right' : 'left';
      ctx.fillText(o.markerLabel, x + (nearRight ? -4 : 4) * pxRatio, top + 2 * pxRatio);
    }
  }
  ctx.restore();
  return markerPos;
}

export function currentPxRatio(): number {
  const r = (globalThis as { devicePixelRatio?: number }).devicePixelRatio;
  return typeof r === 'number' && r > 0 ? r : 1;
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
