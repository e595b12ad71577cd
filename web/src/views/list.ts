// `#/`: the incidents, newest first, refreshed every few seconds.

import { ApiError, listIncidents, type IncidentSummary } from '../api';
import { badge, errorBox, h } from '../dom';
import { formatAgo, formatBytes, formatDateTime, parseTimestamp } from '../format';
import { incidentHref } from '../route';

export const REFRESH_MS = 5000;

function row(inc: IncidentSummary, now: number): HTMLTableRowElement {
  const href = incidentHref(inc.id);
  const triggered = parseTimestamp(inc.triggered_at);
  const tr = h(
    'tr',
    { 'data-testid': 'incident-row', 'data-id': inc.id, class: `row severity-row-${inc.severity}` },
    h(
      'td',
      { class: 'when', title: inc.triggered_at },
      h('span', { class: 'when-date' }, formatDateTime(triggered)),
      h('span', { class: 'muted when-ago' }, formatAgo(triggered, now)),
    ),
    h('td', { class: 'device' }, inc.device_id),
    h('td', { class: 'rule' }, h('a', { href }, inc.rule)),
    h('td', {}, badge('severity', inc.severity)),
    h('td', {}, badge('status', inc.status)),
    h(
      'td',
      { class: 'summary', title: `bundle ${inc.bundle_id}, ${formatBytes(inc.bundle_bytes)}` },
      inc.summary,
    ),
  );
  // The whole row opens the incident; the link in it stays the keyboard path.
  tr.addEventListener('click', (ev) => {
    if ((ev.target as Element | null)?.closest('a')) return;
    if (window.getSelection()?.toString()) return; // let people copy text
    window.location.hash = href;
  });
  return tr;
}

function emptyState(): HTMLElement {
  return h(
    'div',
    { class: 'empty', 'data-testid': 'empty-state' },
    h('p', { class: 'empty-title' }, 'No incidents yet.'),
    h(
      'p',
      {},
      'Run ',
      h('code', {}, 'rewind demo'),
      ' to record a synthetic incident and send it to this server, or point a ',
      h('code', {}, 'rewind agent'),
      ' at it. New incidents show up here within a few seconds.',
    ),
  );
}

/** Renders the list into `root` and keeps it fresh. Returns a function that stops it. */
export function renderList(root: HTMLElement): () => void {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const status = h('span', { class: 'muted refresh-status', 'aria-live': 'polite' }, 'Loading…');
  const errorSlot = h('div', {});
  const tbody = h('tbody', {});
  const table = h(
    'table',
    { class: 'data-table incidents', 'data-testid': 'incident-list', hidden: true },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Triggered'),
        h('th', { scope: 'col' }, 'Device'),
        h('th', { scope: 'col' }, 'Rule'),
        h('th', { scope: 'col' }, 'Severity'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, 'Summary'),
      ),
    ),
    tbody,
  );
  const empty = emptyState();
  empty.hidden = true;

  root.append(
    h('div', { class: 'page-head' }, h('h2', {}, 'Incidents'), status),
    errorSlot,
    h('div', { class: 'table-wrap' }, table),
    empty,
  );

  async function refresh(): Promise<void> {
    try {
      const incidents = await listIncidents({ signal: controller.signal });
      const now = Date.now() / 1000;
      tbody.replaceChildren(...incidents.map((inc) => row(inc, now)));
      table.hidden = incidents.length === 0;
      empty.hidden = incidents.length !== 0;
      errorSlot.replaceChildren();
      const n = incidents.length;
      status.textContent = `${n} incident${n === 1 ? '' : 's'} · updated ${formatDateTime(now)}`;
    } catch (e) {
      if (controller.signal.aborted) return;
      const err =
        e instanceof ApiError ? e : new ApiError('unexpected', String(e), undefined, 0);
      // Keep showing the last list we had; say why it is not updating.
      errorSlot.replaceChildren(errorBox(err.message, err.hint, err.code));
      status.textContent = `refresh failed at ${formatDateTime(Date.now() / 1000)}; retrying`;
    }
    if (!controller.signal.aborted) timer = setTimeout(() => void refresh(), REFRESH_MS);
  }

  void refresh();
  return () => {
    controller.abort();
    if (timer !== undefined) clearTimeout(timer);
  };
}
