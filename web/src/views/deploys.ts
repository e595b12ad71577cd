// `#/deploys`: every recorded deploy, newest first, with its regression
// check: the verdict, the summary, the incident a regression opened, the
// verdict per metric (baseline median → after, change, p, confidence) and
// the log signatures that are new since the deploy. Live: `deploy` and
// `check` events update the page; after a reconnect it loads again.

import { ApiError } from '../api';
import {
  getCheck,
  isPartial,
  listDeploys,
  mergeDeploy,
  metricRows,
  signatureRows,
  stateLabel,
  verdictLabel,
  type Deploy,
  type DeployCheck,
} from '../deploys';
import { errorBox, h, withCode } from '../dom';
import { formatAgo, formatDateTime, formatRelative, formatSignificant, parseTimestamp } from '../format';
import { live, type LiveEvent } from '../live';
import { incidentHref } from '../route';

const PAGE = 50;
/** Checks fetched at once (each is one request). */
const CONCURRENCY = 4;

function verdictBadge(check: DeployCheck | null): HTMLElement {
  const v = check?.verdict ?? '';
  const partial = check ? isPartial(check) : false;
  const text = check ? `${verdictLabel(v)}${partial && v ? ' so far' : ''}` : 'checking…';
  return h('span', { class: `badge verdict verdict-${v || 'none'}`, 'data-testid': 'deploy-verdict', 'data-verdict': v }, text);
}

function percent(change: number | null): string {
  if (change === null) return '—';
  const p = change * 100;
  return `${p > 0 ? '+' : ''}${Math.abs(p) >= 100 ? p.toFixed(0) : p.toFixed(1)}%`;
}

function metricsTable(check: DeployCheck): HTMLElement | null {
  const rows = metricRows(check);
  if (rows.length === 0) return null;
  const deployAt = parseTimestamp(check.deploy.at);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data-table compact', 'data-testid': 'deploy-metrics' },
      h('caption', { class: 'sr-only' }, 'Verdict per metric'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Series', 'Verdict', 'Median before → after', 'Change', 'p', 'Confidence', 'Changed at'].map((t, i) =>
            h('th', { scope: 'col', class: i >= 2 ? 'num' : null }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...rows.map((r) =>
          h(
            'tr',
            { class: `verdict-row-${r.verdict}`, 'data-series': r.series },
            h('td', {}, h('code', {}, r.series)),
            h('td', {}, h('span', { class: `badge verdict verdict-${r.verdict}` }, verdictLabel(r.verdict))),
            h(
              'td',
              { class: 'num' },
              `${r.baselineMedian === null ? '—' : formatSignificant(r.baselineMedian)} → ${r.afterMedian === null ? '—' : formatSignificant(r.afterMedian)}`,
            ),
            h('td', { class: 'num' }, percent(r.change)),
            h('td', { class: 'num' }, r.p === null ? '—' : formatSignificant(r.p, 2)),
            h('td', { class: 'num' }, r.confidence === null ? '—' : r.confidence >= 0.9995 ? '> 99.9%' : `${(r.confidence * 100).toFixed(1)}%`),
            h('td', { class: 'num' }, r.changeAt === null || !Number.isFinite(deployAt) ? '—' : `deploy ${formatRelative(r.changeAt - deployAt, 2).replace(/^T/, '')}`),
          ),
        ),
      ),
    ),
  );
}

function signatures(check: DeployCheck): HTMLElement | null {
  const rows = signatureRows(check);
  if (rows.length === 0) return null;
  return h(
    'div',
    { class: 'signatures' },
    h('h4', {}, 'Log signatures since the deploy'),
    h(
      'ul',
      { 'data-testid': 'log-signatures' },
      ...rows.map((s) =>
        h(
          'li',
          { class: 'signature', 'data-kind': s.kind },
          h('span', { class: `badge sig-${s.kind}` }, s.kind === 'new' ? 'new' : s.kind.replace(/_/g, ' ')),
          ' ',
          h('code', { class: 'template' }, s.template),
          h(
            'span',
            { class: 'muted small' },
            ` ${s.countAfter ?? '?'} after, ${s.countBefore ?? '?'} before`,
          ),
          s.example ? h('div', { class: 'example muted small' }, 'e.g. ', h('q', {}, s.example)) : null,
        ),
      ),
    ),
  );
}

function card(deploy: Deploy, check: DeployCheck | null, error: ApiError | null): HTMLElement {
  const at = parseTimestamp(deploy.at);
  const focus = new URLSearchParams(window.location.hash.split('?')[1] ?? '').get('deploy') === deploy.id;
  return h(
    'article',
    {
      class: `card deploy-card${focus ? ' focused' : ''}`,
      'data-testid': 'deploy',
      'data-id': deploy.id,
      'data-service': deploy.service,
      'aria-labelledby': `deploy-${deploy.id}`,
    },
    h(
      'header',
      { class: 'deploy-head' },
      h('h3', { id: `deploy-${deploy.id}` }, h('span', {}, deploy.service), ' ', h('code', {}, deploy.version)),
      h('span', { class: 'chip' }, deploy.environment),
      verdictBadge(check),
      check ? h('span', { class: 'badge status', 'data-testid': 'deploy-state' }, stateLabel(check.state)) : null,
    ),
    h(
      'p',
      { class: 'muted small deploy-meta' },
      h('time', { datetime: deploy.at, title: deploy.at }, `${formatDateTime(at)} (${formatAgo(at, Date.now() / 1000)})`),
      deploy.actor ? ` · by ${deploy.actor}` : '',
      deploy.commit ? ' · commit ' : '',
      deploy.commit ? h('code', {}, deploy.commit) : null,
      check?.window_end ? ` · ${check.state === 'watching' ? 'watching until' : 'window ended'} ${formatDateTime(parseTimestamp(check.window_end))}` : '',
    ),
    error ? errorBox(error.message, error.hint, error.code) : null,
    check?.summary ? h('p', { class: 'deploy-summary', 'data-testid': 'deploy-summary' }, ...withCode(check.summary)) : null,
    check && check.state === 'not_watched'
      ? h('p', { class: 'muted small' }, 'This server did not watch this deploy (recorded before it started, or its window passed while it was down).')
      : null,
    check?.incident_id
      ? h('p', {}, h('a', { href: incidentHref(check.incident_id), 'data-testid': 'deploy-incident' }, 'Open the incident it caused →'))
      : null,
    check ? metricsTable(check) : null,
    check ? signatures(check) : null,
  );
}

/** Renders the deploys into `root` and keeps them live. Returns a function that stops it. */
export function renderDeploys(root: HTMLElement): () => void {
  const controller = new AbortController();
  let deploys: Deploy[] = [];
  const checks = new Map<string, DeployCheck>();
  const errors = new Map<string, ApiError>();
  const cards = new Map<string, HTMLElement>();
  let loaded = false;
  let loading = false;
  /** Live events that arrived while the list was loading: applied once it is there. */
  let arrived: LiveEvent[] = [];
  let exhausted = false;
  let focusedOnce = false;

  const status = h('span', { class: 'muted list-status', 'aria-live': 'polite' }, 'Loading…');
  const errorSlot = h('div', {});
  const list = h('div', { class: 'deploys', 'data-testid': 'deploy-list' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Older deploys');
  root.append(
    h('div', { class: 'page-head' }, h('h2', {}, 'Deploys'), status),
    h(
      'p',
      { class: 'muted' },
      'Every deploy recorded with ',
      h('code', {}, 'rewind deploy notify'),
      ' or ',
      h('code', {}, 'POST /api/v1/deploys'),
      ', and whether it made things worse: the server compares each service’s metrics and logs before and after.',
    ),
    errorSlot,
    list,
    more,
  );

  const paintOne = (d: Deploy): void => {
    const el = card(d, checks.get(d.id) ?? null, errors.get(d.id) ?? null);
    const old = cards.get(d.id);
    if (old) old.replaceWith(el);
    cards.set(d.id, el);
  };

  const paint = (): void => {
    cards.clear();
    list.replaceChildren(
      ...deploys.map((d) => {
        const el = card(d, checks.get(d.id) ?? null, errors.get(d.id) ?? null);
        cards.set(d.id, el);
        return el;
      }),
    );
    if (loaded && deploys.length === 0) {
      list.replaceChildren(
        h(
          'div',
          { class: 'empty', 'data-testid': 'empty-state' },
          h('p', { class: 'empty-title' }, 'No deploys recorded yet.'),
          h('p', {}, 'Record one from CI with ', h('code', {}, 'rewind deploy notify --service NAME --version V'), '.'),
        ),
      );
    }
    const n = deploys.length;
    status.textContent = `${n} deploy${n === 1 ? '' : 's'}`;
    more.hidden = exhausted || n === 0;
    if (!focusedOnce) {
      const focus = list.querySelector<HTMLElement>('.deploy-card.focused');
      if (focus) {
        focusedOnce = true;
        focus.scrollIntoView({ block: 'start' });
      }
    }
  };

  // Checks are one request each: a few at a time.
  const queue: string[] = [];
  let running = 0;
  const pump = (): void => {
    while (running < CONCURRENCY && queue.length > 0) {
      const id = queue.shift()!;
      running += 1;
      getCheck(id, { signal: controller.signal })
        .then((c) => {
          checks.set(id, c);
          errors.delete(id);
        })
        .catch((e: unknown) => {
          if (e instanceof ApiError) errors.set(id, e);
        })
        .finally(() => {
          running -= 1;
          const d = deploys.find((x) => x.id === id);
          if (d && !controller.signal.aborted) paintOne(d);
          pump();
        });
    }
  };
  const fetchCheck = (id: string): void => {
    if (!queue.includes(id)) queue.push(id);
    pump();
  };

  async function load(): Promise<void> {
    loading = true;
    arrived = [];
    try {
      const page = await listDeploys({ signal: controller.signal, limit: PAGE });
      deploys = page;
      exhausted = page.length < PAGE;
      loaded = true;
      loading = false;
      errorSlot.replaceChildren();
      for (const ev of arrived) apply(ev);
      arrived = [];
      paint();
      for (const d of deploys) fetchCheck(d.id);
    } catch (e) {
      loading = false;
      if (controller.signal.aborted) return;
      const err = e instanceof ApiError ? e : new ApiError('unexpected', String(e), undefined, 0);
      errorSlot.replaceChildren(errorBox(err.message, err.hint, err.code));
      status.textContent = 'could not load the deploys';
    }
  }

  more.addEventListener('click', () => {
    const oldest = deploys[deploys.length - 1];
    if (!oldest) return;
    more.disabled = true;
    listDeploys({ signal: controller.signal, limit: PAGE, until: oldest.at })
      .then((older) => {
        const known = new Set(deploys.map((d) => d.id));
        const fresh = older.filter((d) => !known.has(d.id));
        deploys = [...deploys, ...fresh];
        exhausted = older.length < PAGE;
        paint();
        for (const d of fresh) fetchCheck(d.id);
      })
      .catch(() => undefined)
      .finally(() => {
        more.disabled = false;
      });
  });

  /** Applies a `deploy` or `check` event to the state; returns the deploy's id. */
  function apply(ev: LiveEvent): string {
    if (ev.type === 'deploy') {
      deploys = mergeDeploy(deploys, ev.deploy);
      return ev.deploy.id;
    }
    if (ev.type === 'check') {
      const d = ev.check.deploy;
      if (!deploys.some((x) => x.id === d.id)) deploys = mergeDeploy(deploys, d);
      checks.set(d.id, ev.check);
      errors.delete(d.id);
      return d.id;
    }
    return '';
  }

  const unsubscribe = live.subscribe({
    onOpen: () => {
      if (loaded) void load();
    },
    onEvent: (ev) => {
      if (ev.type !== 'deploy' && ev.type !== 'check') return;
      if (loading) {
        arrived.push(ev);
        return;
      }
      if (!loaded) return;
      const id = apply(ev);
      paint();
      if (ev.type === 'deploy') fetchCheck(id);
      cards.get(id)?.setAttribute('data-live', 'updated');
    },
  });

  void load();
  return () => {
    controller.abort();
    unsubscribe();
  };
}
