// The one time axis every lane of a timeline shares: its full span (the
// bundle window, the trigger and every sample) and the part in view. Zooming
// or panning any lane moves this view, and every lane follows it.

export interface XView {
  min: number;
  max: number;
}

/** The narrowest view, in seconds: a few samples at 10 Hz. */
export const MIN_SPAN = 0.2;

/** The full span: the window and T+0 and all data, never empty. */
export function fullView(window: XView | null, dataExtents: ReadonlyArray<XView | null>): XView {
  let min = 0;
  let max = 0;
  if (window && Number.isFinite(window.min) && Number.isFinite(window.max)) {
    min = Math.min(min, window.min);
    max = Math.max(max, window.max);
  }
  for (const e of dataExtents) {
    if (!e || !Number.isFinite(e.min) || !Number.isFinite(e.max)) continue;
    min = Math.min(min, e.min);
    max = Math.max(max, e.max);
  }
  if (max - min < MIN_SPAN) return { min: min - 1, max: max + 1 };
  return { min, max };
}

/** `view` kept inside `full` (moved in when it sticks out) and at least `MIN_SPAN` wide. */
export function clampView(view: XView, full: XView): XView {
  let span = Math.max(MIN_SPAN, view.max - view.min);
  const fullSpan = full.max - full.min;
  if (span >= fullSpan) return { ...full };
  let min = view.min;
  if (min < full.min) min = full.min;
  if (min + span > full.max) min = full.max - span;
  span = Math.min(span, fullSpan);
  return { min, max: min + span };
}

/** Zoomed by `factor` (< 1 zooms in) around `center` (default the middle). */
export function zoomView(view: XView, factor: number, full: XView, center = (view.min + view.max) / 2): XView {
  const min = center - (center - view.min) * factor;
  const max = center + (view.max - center) * factor;
  return clampView({ min, max }, full);
}

/** Moved by `delta` seconds (positive: later). */
export function panView(view: XView, delta: number, full: XView): XView {
  return clampView({ min: view.min + delta, max: view.max + delta }, full);
}

export function sameView(a: XView, b: XView): boolean {
  return Math.abs(a.min - b.min) < 1e-9 && Math.abs(a.max - b.max) < 1e-9;
}

interface Scaled {
  setScale(key: string, limits: { min: number; max: number }): void;
}

/** The shared axis: lanes read `current()` in their x range and are told when it moves. */
export class SharedTime {
  private view: XView | null = null;
  private readonly charts = new Set<Scaled>();
  private readonly listeners = new Set<(v: XView, zoomed: boolean) => void>();

  constructor(public full: XView) {}

  current(): XView {
    return this.view ?? this.full;
  }

  /** Whether the view is narrower than the full span. */
  get zoomed(): boolean {
    return this.view !== null;
  }

  add(chart: Scaled): () => void {
    this.charts.add(chart);
    return () => {
      this.charts.delete(chart);
    };
  }

  onChange(fn: (v: XView, zoomed: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  /** Shows `view` (clamped) in every lane; `null` shows everything. */
  set(view: XView | null): void {
    const next = view ? clampView(view, this.full) : null;
    this.view = next && !sameView(next, this.full) ? next : null;
    const v = this.current();
    for (const c of this.charts) c.setScale('x', { min: v.min, max: v.max });
    for (const fn of this.listeners) fn(v, this.zoomed);
  }

  zoom(factor: number, center?: number): void {
    this.set(zoomView(this.current(), factor, this.full, center));
  }

  pan(fraction: number): void {
    const v = this.current();
    this.set(panView(v, (v.max - v.min) * fraction, this.full));
  }

  reset(): void {
    this.set(null);
  }
}
