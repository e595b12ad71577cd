// The correlation timeline: the events lane on top, then one lane per group
// of series, stacked, on one shared time axis. Zooming (drag, the buttons,
// Ctrl+wheel, + and -) and panning (Shift+drag, the arrows, ← and →) move
// every lane; the cursor is shared, and each lane's header reads its values
// at the instant under it (at T+0 when the pointer is elsewhere). T+0 and
// the deploys are drawn on every lane. The incident page and the hidden
// timing page (`#/perf`) both draw through `mountTimeline`.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import type { Evidence, SeriesData } from '../api';
import { seriesStats } from '../charts';
import { h } from '../dom';
import { ROW_LABELS, marksNear, type EventMark, type Placement } from '../events';
import { formatRelative, formatValue } from '../format';
import { buildEventsChart, buildLaneChart, type LaneContext, type LaneSpec } from '../lane-chart';
import { groupLanes, nearestIndex, shortLabels, type Lane } from '../lanes';
import { chartColors, onThemeChange } from '../theme';
import { SharedTime, fullView, type XView } from '../timescale';

export interface TimelineInput {
  /** Names the cursor-sync group. */
  id: string;
  /** `trigger.fired_at`, Unix seconds: T+0. */
  firedAt: number;
  /** The bundle window relative to T+0, when known. */
  window: XView | null;
  series: SeriesData[];
  evidence: Evidence[];
  /** What the events lane shows; `update` replaces it. */
  placement: Placement;
  /** Deploys drawn on every lane (relative seconds). */
  deploys: Array<{ x: number; label: string | null }>;
}

export interface TimelineOptions {
  /** Draw the folded lanes at once (the timing page). */
  expandAll?: boolean;
  keyHeight?: number;
  restHeight?: number;
}

export interface MountedTimeline {
  shared: SharedTime;
  /** New events or deploys (the bundle's events arrive after the first draw). */
  update(placement: Placement, deploys: TimelineInput['deploys']): void;
  /** Resolves once every lane shown has drawn its canvas. */
  drawn(): Promise<void>;
  /** Resolves once those drawings are on screen (the next frame). */
  painted(): Promise<void>;
  destroy(): void;
}

interface LaneView {
  lane: Lane | null;
  figure: HTMLElement;
  plotHost: HTMLElement;
  readout: HTMLElement;
  plot: uPlot | null;
  /** Takes the plot off the shared axis. */
  detach: () => void;
  /** Created, its canvas not drawn yet. */
  firstDraw: boolean;
  spec: LaneSpec | null;
  xAxis: LaneContext['xAxis'];
  height: number;
  /** Updates the readout for time `x` (relative seconds), or for T+0 when null. */
  read(x: number | null, hovering: boolean): void;
}

const MAX_READOUT = 6;
const MAX_EVENT_ROWS = 300;

function laneAria(lane: Lane): string {
  const parts = lane.series.map((s) => {
    const st = seriesStats(s);
    return st.min === null
      ? `${s.name}: no samples`
      : `${s.name} from ${formatValue(st.min, s.unit)} to ${formatValue(st.max, s.unit)}`;
  });
  return `${lane.title}: ${parts.join('; ')}`;
}

/** Draws the timeline into `container`. */
export function mountTimeline(container: HTMLElement, input: TimelineInput, opts: TimelineOptions = {}): MountedTimeline {
  const { key, rest } = groupLanes(input.series, input.evidence.map((e) => e.series));
  // Few lanes get more height each: the timeline reads the same size at a glance.
  const keyHeight = opts.keyHeight ?? (key.length <= 2 ? 150 : key.length <= 4 ? 120 : 100);
  const restHeight = opts.restHeight ?? 90;
  const evidenceMap = new Map(input.evidence.map((e) => [e.series, e]));
  const extents = input.series.map((s) => {
    let min = Infinity;
    let max = -Infinity;
    for (const t of s.t) {
      if (t < min) min = t;
      if (t > max) max = t;
    }
    return Number.isFinite(min) ? { min: min - input.firedAt, max: max - input.firedAt } : null;
  });
  const shared = new SharedTime(fullView(input.window, extents));
  const syncKey = `timeline-${input.id}-${Math.random().toString(36).slice(2, 8)}`;
  const deploys = [...input.deploys];
  const deployLines = deploys.map((d) => ({ x: d.x, label: null }));
  let placement = input.placement;
  const cleanups: Array<() => void> = [];
  const lanes: LaneView[] = [];
  /** Lanes created whose canvas is not drawn yet, and who waits for them. */
  let undrawn = 0;
  let waiters: Array<() => void> = [];
  const settle = (): void => {
    if (undrawn > 0) return;
    const w = waiters;
    waiters = [];
    for (const fn of w) fn();
  };

  // --- header: title, cursor time, zoom and pan -------------------------------------------
  const cursorTime = h('span', { class: 'cursor-time', 'data-testid': 'cursor-time' }, 'at T+0');
  const button = (label: string, title: string, testid: string, fn: () => void): HTMLButtonElement => {
    const b = h('button', { type: 'button', class: 'tool', title, 'aria-label': title, 'data-testid': testid }, label);
    b.addEventListener('click', fn);
    return b;
  };
  const resetButton = button('Reset', 'Show the whole window (0, or double-click a lane)', 'zoom-reset', () => shared.reset());
  const toolbar = h(
    'div',
    { class: 'timeline-tools', role: 'toolbar', 'aria-label': 'Zoom and pan the timeline' },
    button('−', 'Zoom out (-)', 'zoom-out', () => shared.zoom(2)),
    button('+', 'Zoom in (+)', 'zoom-in', () => shared.zoom(0.5)),
    button('←', 'Pan earlier (←)', 'pan-left', () => shared.pan(-0.25)),
    button('→', 'Pan later (→)', 'pan-right', () => shared.pan(0.25)),
    resetButton,
  );
  const head = h(
    'div',
    { class: 'timeline-head' },
    h('h3', { id: `${syncKey}-title` }, 'Correlation timeline'),
    cursorTime,
    toolbar,
  );
  const hint = h(
    'p',
    { class: 'muted timeline-hint' },
    'Drag across a lane to zoom, Shift+drag to pan, double-click to see everything. ',
    h('span', { class: 'key key-marker' }),
    'T+0 (trigger) ',
    h('span', { class: 'key key-deploy' }),
    'deploy ',
    h('span', { class: 'key key-threshold' }),
    'limit or baseline ',
    h('span', { class: 'key key-band' }),
    'condition held',
  );
  const stack = h('div', { class: 'lanes', 'data-testid': 'lanes' });
  const restStack = h('div', { class: 'lanes' });
  const restCount = rest.reduce((n, l) => n + l.series.length, 0);
  const fold = h(
    'details',
    { class: 'more-lanes', 'data-testid': 'more-lanes' },
    h('summary', {}, `${rest.length} more lane${rest.length === 1 ? '' : 's'} (${restCount} series)`),
    restStack,
  ) as HTMLDetailsElement;
  const eventsBody = h('tbody', {});
  const eventsCount = h('span', {});
  const eventsList = h(
    'details',
    { class: 'events-list', 'data-testid': 'events-list' },
    h('summary', {}, 'Events, as a list (', eventsCount, ')'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'data-table compact' },
        h('caption', { class: 'sr-only' }, 'Events on the timeline; choose one to centre the lanes on it'),
        h('thead', {}, h('tr', {}, ...['Time', 'Row', 'What', 'Source', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
        eventsBody,
      ),
    ),
  );
  const section = h(
    'section',
    {
      class: 'timeline card',
      'data-testid': 'timeline',
      'aria-labelledby': `${syncKey}-title`,
      tabindex: 0,
    },
    head,
    hint,
    stack,
    rest.length > 0 ? fold : null,
    eventsList,
  );
  container.append(section);

  const showView = (v: XView, zoomed: boolean): void => {
    section.dataset['xMin'] = v.min.toFixed(3);
    section.dataset['xMax'] = v.max.toFixed(3);
    section.dataset['zoomed'] = String(zoomed);
    resetButton.disabled = !zoomed;
  };
  cleanups.push(shared.onChange(showView));
  showView(shared.current(), false);

  // --- lanes -------------------------------------------------------------------------------
  function laneContext(view: LaneView, width: number): LaneContext {
    return {
      firedAt: input.firedAt,
      view: () => shared.current(),
      colors: chartColors(),
      width,
      height: view.height,
      syncKey,
      xAxis: view.xAxis,
      // Labelled once, on the events lane; the other lanes draw the line.
      deploys: view.lane === null ? deploys : deployLines,
      markerLabel: view.lane === null ? 'T+0' : null,
      onDrawn: (x) => {
        view.figure.dataset['t0'] = x === null ? 'out-of-view' : String(Math.round(x));
        if (view.firstDraw) {
          view.firstDraw = false;
          undrawn -= 1;
          settle();
        }
      },
    };
  }

  function interactions(opts: uPlot.Options, view: LaneView): void {
    let panFrom: { x: number; view: XView } | null = null;
    const cursor = (opts.cursor ??= {});
    cursor.bind = {
      mousedown: (u, _targ, handler) => (e) => {
        if (e.shiftKey && e.button === 0) {
          panFrom = { x: e.clientX, view: shared.current() };
          const move = (ev: MouseEvent): void => {
            if (!panFrom) return;
            const span = panFrom.view.max - panFrom.view.min;
            const dx = ((ev.clientX - panFrom.x) / Math.max(1, u.over.clientWidth)) * span;
            shared.set({ min: panFrom.view.min - dx, max: panFrom.view.max - dx });
          };
          const up = (): void => {
            panFrom = null;
            window.removeEventListener('mousemove', move);
            window.removeEventListener('mouseup', up);
          };
          window.addEventListener('mousemove', move);
          window.addEventListener('mouseup', up);
          return null;
        }
        return handler(e);
      },
      dblclick: () => () => {
        shared.reset();
        return null;
      },
    };
    opts.hooks ??= {};
    (opts.hooks.setSelect ??= []).push((u) => {
      const sel = u.select;
      if (sel.width < 3) return;
      const min = u.posToVal(sel.left, 'x');
      const max = u.posToVal(sel.left + sel.width, 'x');
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      shared.set({ min, max });
    });
    (opts.hooks.setCursor ??= []).push((u) => {
      const left = u.cursor.left ?? -1;
      const hovering = left >= 0;
      const x = hovering ? u.posToVal(left, 'x') : null;
      view.read(x, hovering);
      if (u.cursor.event) cursorTime.textContent = x === null ? 'at T+0' : `at ${formatRelative(x, 2)}`;
    });
  }

  function makeMetricReadout(view: LaneView, lane: Lane): void {
    const labels = shortLabels(lane.series.map((s) => s.name));
    const colors = chartColors().series;
    const shown = lane.series.slice(0, MAX_READOUT);
    const values = shown.map(() => h('b', {}, '—'));
    const at = h('span', { class: 'readout-at' }, 'T+0');
    view.readout.replaceChildren(
      at,
      ...shown.map((s, i) =>
        h(
          'span',
          { class: 'readout-item', title: s.name },
          h('i', { class: 'swatch', style: `background:${colors[i % colors.length]}` }),
          h('span', { class: 'readout-name' }, labels[i]!),
          ' ',
          values[i]!,
        ),
      ),
      ...(lane.series.length > MAX_READOUT ? [h('span', { class: 'muted' }, `+${lane.series.length - MAX_READOUT} more`)] : []),
    );
    view.read = (x, hovering) => {
      const t = x ?? 0;
      at.textContent = hovering ? formatRelative(t, 2) : 'T+0';
      const cols = view.spec?.columns;
      if (!cols) return;
      shown.forEach((s, i) => {
        const [xs, ys] = cols[i]!;
        const k = nearestIndex(xs, t);
        // Only a sample near the instant counts: further than the lane's
        // typical step means there was none then.
        const step = xs.length > 1 ? (xs[xs.length - 1]! - xs[0]!) / (xs.length - 1) : Infinity;
        const v = k >= 0 && Math.abs(xs[k]! - t) <= Math.max(step * 1.5, 0.05) ? ys[k] : null;
        values[i]!.textContent = formatValue(v ?? null, s.unit);
      });
    };
  }

  function makeEventsReadout(view: LaneView): void {
    const text = h('span', { class: 'readout-events' });
    const at = h('span', { class: 'readout-at' }, 'T+0');
    view.readout.replaceChildren(at, text);
    view.read = (x, hovering) => {
      const t = x ?? 0;
      at.textContent = hovering ? formatRelative(t, 2) : 'T+0';
      const plot = view.plot;
      const v = shared.current();
      const perPx = plot ? (v.max - v.min) / Math.max(1, plot.over.clientWidth) : 0;
      const near = marksNear(placement.marks, t, Math.max(perPx * 6, 1e-3));
      if (near.length === 0) {
        text.textContent = hovering ? 'no event here' : '';
        return;
      }
      const first = near[0]!;
      text.textContent = `${first.title}${first.detail ? `: ${first.detail}` : ''}${near.length > 1 ? ` (+${near.length - 1} more)` : ''}`;
    };
  }

  function laneFigure(lane: Lane | null, xAxis: LaneContext['xAxis'], height: number): LaneView {
    const readout = h('span', { class: 'lane-readout', 'aria-hidden': 'true' });
    const plotHost = h('div', { class: 'lane-plot', role: 'img' });
    const title = lane ? lane.title : 'Events';
    const figure = h(
      'figure',
      {
        class: `lane${lane === null ? ' lane-events' : ''}${lane && lane.evidence.length ? ' lane-evidence' : ''}`,
        'data-testid': lane === null ? 'events-lane' : 'lane',
        'data-lane': lane ? lane.id : 'events',
        'data-series': lane ? lane.series.map((s) => s.name).join(',') : null,
      },
      h(
        'figcaption',
        { class: 'lane-head' },
        h('span', { class: 'lane-title' }, title),
        lane && lane.unit && !lane.title.includes('·') ? h('span', { class: 'lane-unit muted' }, lane.unit.replace(/_/g, ' ')) : null,
        lane && lane.evidence.length ? h('span', { class: 'tag' }, 'evidence') : null,
        readout,
      ),
      plotHost,
    );
    const view: LaneView = {
      lane,
      figure,
      plotHost,
      readout,
      plot: null,
      detach: () => undefined,
      firstDraw: false,
      spec: null,
      xAxis,
      height,
      read: () => undefined,
    };
    if (lane) {
      plotHost.setAttribute('aria-label', laneAria(lane));
      makeMetricReadout(view, lane);
    } else {
      makeEventsReadout(view);
    }
    return view;
  }

  function draw(view: LaneView, knownWidth?: number): void {
    // Reading a width forces a layout: a batch of lanes reads it once.
    const width = knownWidth ?? Math.max(200, Math.floor(view.plotHost.clientWidth || container.clientWidth || 800));
    const ctx = laneContext(view, width);
    const spec = view.lane ? buildLaneChart(view.lane, evidenceMap, ctx) : buildEventsChart(placement, ctx);
    interactions(spec.options, view);
    view.detach();
    view.plot?.destroy();
    view.plotHost.replaceChildren();
    view.spec = spec;
    if (!view.firstDraw) {
      view.firstDraw = true;
      undrawn += 1;
    }
    view.plot = new uPlot(spec.options, spec.data, view.plotHost);
    view.detach = shared.add(view.plot);
    view.read(null, false);
    if (!view.lane) {
      view.plotHost.setAttribute(
        'aria-label',
        `Events: ${placement.marks.length} on ${placement.rows.map((r) => ROW_LABELS[r]).join(', ')}; listed below the lanes`,
      );
    }
  }

  const eventsView = laneFigure(null, 'top', 0);
  stack.append(eventsView.figure);
  lanes.push(eventsView);
  if (key.length === 0 && rest.length === 0) {
    stack.append(h('p', { class: 'muted' }, 'The bundle holds no metric series.'));
  }
  key.forEach((lane, i) => {
    const v = laneFigure(lane, i === key.length - 1 ? 'bottom' : 'none', keyHeight + (i === key.length - 1 ? 22 : 0));
    stack.append(v.figure);
    lanes.push(v);
  });
  const laneWidth = (): number => Math.max(200, Math.floor(eventsView.plotHost.clientWidth || container.clientWidth || 800));
  const firstWidth = laneWidth();
  for (const v of lanes) draw(v, firstWidth);

  let restDrawn = false;
  const drawRest = (): void => {
    if (restDrawn) return;
    restDrawn = true;
    const views = rest.map((lane, i) => {
      const v = laneFigure(lane, i === rest.length - 1 ? 'bottom' : 'none', restHeight + (i === rest.length - 1 ? 22 : 0));
      restStack.append(v.figure);
      lanes.push(v);
      return v;
    });
    const width = laneWidth();
    for (const v of views) draw(v, width);
  };
  fold.addEventListener('toggle', () => {
    if (fold.open) drawRest();
  });
  if (opts.expandAll && rest.length > 0) {
    fold.open = true;
    drawRest();
  }

  // --- the events, as a list ------------------------------------------------------------------
  function fillEventsList(): void {
    const marks = placement.marks;
    eventsCount.textContent = `${marks.length}`;
    eventsBody.replaceChildren(
      ...marks.slice(0, MAX_EVENT_ROWS).map((m: EventMark) => {
        const tr = h(
          'tr',
          { class: `event-row level-${m.level}`, tabindex: 0 },
          h('td', { class: 'num' }, formatRelative(m.x, 2)),
          h('td', {}, ROW_LABELS[m.row]),
          h('td', {}, m.title),
          h('td', {}, h('code', {}, m.source)),
          h('td', { class: 'event-detail' }, m.detail),
        );
        const centre = (): void => {
          const v = shared.current();
          const span = Math.min(v.max - v.min, Math.max(2, (shared.full.max - shared.full.min) / 5));
          shared.set({ min: m.x - span / 2, max: m.x + span / 2 });
          section.scrollIntoView({ block: 'start', behavior: 'smooth' });
        };
        tr.addEventListener('click', centre);
        tr.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') centre();
        });
        return tr;
      }),
      ...(marks.length > MAX_EVENT_ROWS
        ? [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, `and ${marks.length - MAX_EVENT_ROWS} more`))]
        : []),
    );
  }
  fillEventsList();

  // --- keyboard, wheel, size, theme -----------------------------------------------------------
  section.addEventListener('keydown', (e) => {
    if (e.target !== section) return;
    const actions: Record<string, () => void> = {
      '+': () => shared.zoom(0.5),
      '=': () => shared.zoom(0.5),
      '-': () => shared.zoom(2),
      ArrowLeft: () => shared.pan(-0.25),
      ArrowRight: () => shared.pan(0.25),
      '0': () => shared.reset(),
    };
    const act = actions[e.key];
    if (act && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      act();
    }
  });
  const onWheel = (e: WheelEvent): void => {
    if (!e.ctrlKey && !e.metaKey) return;
    const over = (e.target as Element | null)?.closest('.u-over');
    const view = lanes.find((l) => l.plot?.over === over);
    if (!view?.plot) return;
    e.preventDefault();
    const rect = view.plot.over.getBoundingClientRect();
    const center = view.plot.posToVal(e.clientX - rect.left, 'x');
    shared.zoom(e.deltaY > 0 ? 1.25 : 0.8, center);
  };
  section.addEventListener('wheel', onWheel, { passive: false });

  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      for (const v of lanes) {
        if (!v.plot) continue;
        const width = Math.max(200, Math.floor(v.plotHost.clientWidth));
        if (width !== v.plot.width) v.plot.setSize({ width, height: v.plot.height });
      }
    });
  });
  observer.observe(section);
  cleanups.push(
    onThemeChange(() => {
      const width = laneWidth();
      for (const v of lanes) draw(v, width);
    }),
  );

  return {
    shared,
    update(next, nextDeploys) {
      placement = next;
      deploys.splice(0, deploys.length, ...nextDeploys);
      deployLines.splice(0, deployLines.length, ...nextDeploys.map((d) => ({ x: d.x, label: null })));
      draw(eventsView);
      for (const v of lanes) if (v !== eventsView) v.plot?.redraw(false, false);
      fillEventsList();
    },
    drawn() {
      return new Promise((resolve) => {
        waiters.push(resolve);
        settle();
      });
    },
    async painted() {
      await this.drawn();
      await new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
    },
    destroy() {
      observer.disconnect();
      cancelAnimationFrame(frame);
      section.removeEventListener('wheel', onWheel);
      for (const c of cleanups) c();
      for (const v of lanes) {
        v.detach();
        v.plot?.destroy();
      }
    },
  };
}
