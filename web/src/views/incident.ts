// `#/incidents/<id>`: what tripped, the evidence, and every series around it.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import { ApiError, getIncident, type Evidence, type IncidentDetail, type SeriesData } from '../api';
import { buildChart, seriesStats } from '../charts';
import { partitionSeries } from '../series';
import { badge, errorBox, h } from '../dom';
import {
  formatBytes,
  formatCondition,
  formatDateTime,
  formatDuration,
  formatRelative,
  formatValue,
  parseTimestamp,
} from '../format';

const CHART_HEIGHT = 220;

function backLink(): HTMLElement {
  return h('a', { class: 'back', href: '#/', 'data-testid': 'back-link' }, '← Back to incidents');
}

function fact(label: string, value: Node | string, title?: string): HTMLElement {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', title ? { title } : {}, value));
}

function unitOf(detail: IncidentDetail, seriesName: string): string {
  return detail.series.find((s) => s.name === seriesName)?.unit ?? '';
}

function evidenceTable(detail: IncidentDetail, firedAt: number): HTMLElement {
  const evidence = detail.trigger.evidence;
  if (evidence.length === 0) return h('p', { class: 'muted' }, 'The rule reported no evidence.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data-table evidence', 'data-testid': 'evidence-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Series', 'Condition', 'Observed', 'Peak', 'Held since', 'Samples'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...evidence.map((ev) => {
          const unit = unitOf(detail, ev.series);
          const since = parseTimestamp(ev.since);
          return h(
            'tr',
            {},
            h('td', {}, h('code', {}, ev.series)),
            h('td', {}, formatCondition(ev.condition, unit)),
            h('td', { class: 'num' }, formatValue(ev.observed, unit)),
            h('td', { class: 'num' }, formatValue(ev.peak, unit)),
            h(
              'td',
              { title: ev.since },
              `${formatRelative(since - firedAt)} (${formatDuration(firedAt - since)})`,
            ),
            h('td', { class: 'num' }, String(ev.samples)),
          );
        }),
      ),
    ),
  );
}

interface Mounted {
  destroy(): void;
}

function mountCharts(container: HTMLElement, detail: IncidentDetail, firedAt: number): Mounted {
  const plots: Array<{ plot: uPlot; host: HTMLElement }> = [];
  const window_ = {
    start: parseTimestamp(detail.window.start),
    end: parseTimestamp(detail.window.end),
  };
  const windowOk = Number.isFinite(window_.start) && Number.isFinite(window_.end);
  const evidenceBySeries = new Map<string, Evidence>(
    detail.trigger.evidence.map((e) => [e.series, e]),
  );

  const mountList = (list: SeriesData[], into: HTMLElement): void => {
  for (const series of list) {
    const evidence = evidenceBySeries.get(series.name);
    const stats = seriesStats(series);
    const host = h('div', { class: 'plot' });
    const card = h(
      'figure',
      {
        class: `chart-card${evidence ? ' chart-evidence' : ''}`,
        'data-testid': 'series-chart',
        'data-series': series.name,
      },
      h(
        'figcaption',
        {},
        h('code', { class: 'series-name' }, series.name),
        h('span', { class: 'muted series-unit' }, series.unit),
        evidence ? h('span', { class: 'tag' }, 'evidence') : null,
        h(
          'span',
          { class: 'muted series-stats' },
          stats.last === null
            ? 'no samples'
            : `last ${formatValue(stats.last, series.unit)} · min ${formatValue(stats.min, series.unit)} · max ${formatValue(stats.max, series.unit)}`,
        ),
      ),
      host,
    );
    into.append(card);
    if (series.t.length === 0) {
      host.append(h('p', { class: 'muted no-data' }, 'This series has no samples in the bundle.'));
      continue;
    }
    const spec = buildChart({
      series,
      firedAt,
      evidence,
      evidenceSince: evidence ? parseTimestamp(evidence.since) : undefined,
      window: windowOk ? window_ : undefined,
      width: host.clientWidth || 800,
      height: CHART_HEIGHT,
      syncKey: `incident-${detail.id}`,
    });
    plots.push({ plot: new uPlot(spec.options, spec.data, host), host });
  }
  };

  const { primary, rest } = partitionSeries(detail);
  mountList(primary, container);
  if (rest.length > 0) {
    // The folded charts are drawn on first opening: most incidents are read
    // from the evidence and headline series alone.
    const more = h('div', { class: 'charts' });
    const fold = h(
      'details',
      { class: 'more-series', 'data-testid': 'more-series' },
      h('summary', {}, `${rest.length} more series`),
      more,
    ) as HTMLDetailsElement;
    let drawn = false;
    fold.addEventListener('toggle', () => {
      if (fold.open && !drawn) {
        drawn = true;
        mountList(rest, more);
      }
    });
    container.append(fold);
  }

  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      for (const { plot, host } of plots) {
        const width = Math.max(200, Math.floor(host.clientWidth));
        if (width !== plot.width) plot.setSize({ width, height: CHART_HEIGHT });
      }
    });
  });
  observer.observe(container);

  return {
    destroy() {
      observer.disconnect();
      cancelAnimationFrame(frame);
      for (const { plot } of plots) plot.destroy();
    },
  };
}

function renderDetail(root: HTMLElement, detail: IncidentDetail): Mounted {
  const firedAt = parseTimestamp(detail.trigger.fired_at);
  const triggeredAt = parseTimestamp(detail.triggered_at);
  const start = parseTimestamp(detail.window.start);
  const end = parseTimestamp(detail.window.end);
  const received = parseTimestamp(detail.received_at);

  const charts = h('div', { class: 'charts' });
  root.append(
    backLink(),
    h(
      'header',
      { class: 'incident-head' },
      h('h2', { 'data-testid': 'incident-title' }, detail.rule),
      h('div', { class: 'badges' }, badge('severity', detail.severity), badge('status', detail.status)),
    ),
    h(
      'dl',
      { class: 'facts' },
      fact('Device', h('code', {}, detail.device_id)),
      fact('Triggered', formatDateTime(triggeredAt, { millis: true }), detail.triggered_at),
      fact(
        'Window',
        `${formatRelative(start - firedAt)} to ${formatRelative(end - firedAt)} (${formatDuration(end - start)})`,
        `${detail.window.start} – ${detail.window.end}`,
      ),
      fact('Received', formatDateTime(received), detail.received_at),
      fact('Bundle', `${formatBytes(detail.bundle_bytes)}`, detail.bundle_id),
      fact('Rule type', detail.trigger.rule_type),
      fact('Incident', h('code', { class: 'id' }, detail.id)),
    ),
    h(
      'section',
      { class: 'card trigger' },
      h('h3', {}, 'Why it triggered'),
      h('p', { class: 'trigger-summary', 'data-testid': 'trigger-summary' }, detail.trigger.summary),
      evidenceTable(detail, firedAt),
    ),
    h(
      'section',
      { class: 'metrics' },
      h(
        'div',
        { class: 'section-head' },
        h('h3', {}, 'Metrics around the trigger'),
        h(
          'p',
          { class: 'muted legend-note' },
          h('span', { class: 'key key-marker' }),
          'trigger ',
          h('span', { class: 'key key-threshold' }),
          'threshold ',
          h('span', { class: 'key key-band' }),
          'condition held · drag to zoom, double-click to reset',
        ),
      ),
      detail.series.length === 0
        ? h('p', { class: 'muted' }, 'The bundle holds no metric series.')
        : charts,
    ),
  );
  return mountCharts(charts, detail, firedAt);
}

/** Loads incident `id` and renders it into `root`. Returns a function that tears it down. */
export function renderIncident(root: HTMLElement, id: string): () => void {
  const controller = new AbortController();
  let mounted: Mounted | null = null;
  const loading = h('p', { class: 'muted loading' }, 'Loading incident…');
  root.append(loading);

  getIncident(id, { signal: controller.signal })
    .then((detail) => {
      if (controller.signal.aborted) return;
      root.replaceChildren();
      document.title = `${detail.rule} · Rewind`;
      mounted = renderDetail(root, detail);
    })
    .catch((e: unknown) => {
      if (controller.signal.aborted) return;
      const err = e instanceof ApiError ? e : new ApiError('unexpected', String(e), undefined, 0);
      root.replaceChildren(
        backLink(),
        h('h2', {}, err.code === 'not_found' ? 'Incident not found' : 'Could not load the incident'),
        errorBox(err.message, err.hint, err.code),
      );
    });

  return () => {
    controller.abort();
    mounted?.destroy();
  };
}
