// `#/`: the incidents, newest first, live. Filters and the search live in
// the address (`#/?status=open&min_severity=high&q=cpu`), so a link shows
// the same list. Changes arrive over the live stream (live.ts) and are merged
// in place; after a reconnect the list is loaded again. No polling.
// Keys: j/k or ↓/↑ move, Enter opens, / searches, Escape leaves the search.

import { ApiError, SEVERITIES, STATUSES, listIncidentPage, type IncidentSummary } from '../api';
import { badge, errorBox, h } from '../dom';
import { filtersToQuery, isEmpty, listHref, parseFilters, type Filters } from '../filters';
import { formatAgo, formatDateTime, parseTimestamp } from '../format';
import { listKeyAction, moveSelection } from '../keys';
import { live } from '../live';
import { mergeIncident } from '../live-merge';
import { incidentHref } from '../route';

/** How often the "5 min ago" texts are brought up to date (locally; nothing is fetched). */
const AGE_TICK_MS = 15_000;

function emptyState(filtered: boolean): HTMLElement {
  if (filtered) {
    return h(
      'div',
      { class: 'empty', 'data-testid': 'empty-state' },
      h('p', { class: 'empty-title' }, 'No incidents match these filters.'),
      h('p', {}, h('a', { href: '#/', 'data-testid': 'clear-filters' }, 'Show all incidents'), '.'),
    );
  }
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
      ' at it. New incidents appear here the moment they arrive.',
    ),
  );
}

function filterForm(filters: Filters, onChange: (f: Filters, typing: boolean) => void): { form: HTMLElement; search: HTMLInputElement } {
  const statusBoxes = STATUSES.map((s) =>
    h('input', { type: 'checkbox', name: 'status', value: s, id: `f-status-${s}`, checked: filters.status.includes(s), 'data-testid': `filter-status-${s}` }),
  );
  const severity = h(
    'select',
    { id: 'f-severity', 'data-testid': 'filter-severity' },
    h('option', { value: '' }, 'any'),
    ...SEVERITIES.slice(1).map((s) => h('option', { value: s, selected: filters.minSeverity === s }, `${s} and above`)),
  );
  const text = (id: string, value: string, placeholder: string, testid: string): HTMLInputElement =>
    h('input', { type: 'search', id, value, placeholder, autocomplete: 'off', spellcheck: 'false', 'data-testid': testid });
  const service = text('f-service', filters.service, 'exact name', 'filter-service');
  const fleet = text('f-fleet', filters.fleet, 'exact name', 'filter-fleet');
  const search = text('f-q', filters.q, 'rule or summary contains…  ( / )', 'filter-q');
  search.setAttribute('aria-keyshortcuts', '/');

  const read = (): Filters => ({
    status: STATUSES.filter((_, i) => statusBoxes[i]!.checked),
    minSeverity: (severity.value || null) as Filters['minSeverity'],
    service: service.value,
    fleet: fleet.value,
    q: search.value,
  });
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter incidents', 'data-testid': 'filters' },
    h(
      'fieldset',
      { class: 'status-filter' },
      h('legend', {}, 'Status'),
      ...STATUSES.map((s, i) => h('label', { for: `f-status-${s}`, class: 'check' }, statusBoxes[i]!, s)),
    ),
    h('div', { class: 'field' }, h('label', { for: 'f-severity' }, 'Severity'), severity),
    h('div', { class: 'field' }, h('label', { for: 'f-service' }, 'Service'), service),
    h('div', { class: 'field' }, h('label', { for: 'f-fleet' }, 'Fleet'), fleet),
    h('div', { class: 'field grow' }, h('label', { for: 'f-q' }, 'Search'), search),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onChange(read(), false);
  });
  form.addEventListener('change', () => onChange(read(), false));
  form.addEventListener('input', (e) => {
    if ((e.target as HTMLElement).tagName === 'INPUT' && (e.target as HTMLInputElement).type === 'search') onChange(read(), true);
  });
  return { form, search };
}

function row(inc: IncidentSummary, now: number): HTMLTableRowElement {
  const href = incidentHref(inc.id);
  const triggered = parseTimestamp(inc.triggered_at);
  const tr = h(
    'tr',
    {
      'data-testid': 'incident-row',
      'data-id': inc.id,
      'data-status': inc.status,
      class: `row severity-row-${inc.severity}`,
      tabindex: -1,
      'aria-selected': 'false',
    },
    h('td', {}, badge('severity', inc.severity)),
    h('td', { 'data-testid': 'row-status' }, badge('status', inc.status)),
    h(
      'td',
      { class: 'device' },
      inc.service ? h('span', { class: 'service' }, inc.service) : null,
      inc.service === inc.device_id ? null : h('code', { class: inc.service ? 'muted' : '' }, inc.device_id),
      inc.fleet ? h('span', { class: 'muted fleet' }, inc.fleet) : null,
    ),
    h(
      'td',
      { class: 'rule' },
      h('a', { href, tabindex: -1 }, inc.rule),
      h('span', { class: 'summary muted', title: inc.summary }, inc.summary),
    ),
    h('td', { class: 'num occurrences', title: 'bundles (triggers) in this incident' }, String(inc.occurrences)),
    h(
      'td',
      { class: 'when', title: `first triggered ${formatDateTime(triggered)}; last ${inc.last_triggered_at}` },
      h('span', { class: 'age', 'data-t': triggered }, formatAgo(triggered, now)),
    ),
  );
  tr.addEventListener('click', (ev) => {
    if ((ev.target as Element | null)?.closest('a')) return;
    if (window.getSelection()?.toString()) return; // let people copy text
    window.location.hash = href;
  });
  return tr;
}

/** Renders the list into `root` for the filters in `query`, and keeps it live. Returns a function that stops it. */
export function renderList(root: HTMLElement, query = ''): () => void {
  const controller = new AbortController();
  let filters = parseFilters(query);
  let incidents: IncidentSummary[] = [];
  let nextCursor: string | undefined;
  let selectedId: string | null = null;
  let loaded = false;
  let generation = 0;
  /** Events that arrived while a load was on its way: applied to what it brings. */
  let arrivedDuringLoad: IncidentSummary[] = [];
  let loading = false;
  let typingTimer: ReturnType<typeof setTimeout> | undefined;

  const status = h('span', { class: 'muted list-status', 'aria-live': 'polite', 'data-testid': 'list-status' }, 'Loading…');
  const errorSlot = h('div', {});
  const tbody = h('tbody', {});
  const table = h(
    'table',
    {
      class: 'data-table incidents',
      'data-testid': 'incident-list',
      hidden: true,
      'aria-describedby': 'list-keys',
    },
    h('caption', { class: 'sr-only' }, 'Incidents, newest first'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Severity', 'Status', 'Device / service', 'Rule', 'Occurrences', 'Age'].map((t) =>
          h('th', { scope: 'col', class: t === 'Occurrences' ? 'num' : null }, t),
        ),
      ),
    ),
    tbody,
  );
  const emptySlot = h('div', {});
  const more = h('button', { type: 'button', class: 'more', hidden: true, 'data-testid': 'load-more' }, 'Older incidents');
  const { form, search } = filterForm(filters, (f, typing) => {
    filters = f;
    // The address names the view; replacing it does not re-render the page.
    const href = listHref(f);
    if (window.location.hash !== href) window.history.replaceState(null, '', href);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => void load(), typing ? 250 : 0);
  });

  root.append(
    h('div', { class: 'page-head' }, h('h2', {}, 'Incidents'), status),
    form,
    h('p', { class: 'muted small keys', id: 'list-keys' }, 'Keys: j / k or ↓ / ↑ to move, Enter to open, / to search.'),
    errorSlot,
    h('div', { class: 'table-wrap' }, table),
    emptySlot,
    more,
  );

  function select(id: string | null, focus: boolean): void {
    selectedId = id;
    for (const tr of tbody.querySelectorAll<HTMLTableRowElement>('tr')) {
      const on = tr.dataset['id'] === id;
      tr.setAttribute('aria-selected', String(on));
      tr.classList.toggle('selected', on);
      tr.tabIndex = on ? 0 : -1;
      if (on && focus) tr.focus();
    }
  }

  function paint(flashId?: string): void {
    const now = Date.now() / 1000;
    tbody.replaceChildren(...incidents.map((inc) => row(inc, now)));
    table.hidden = incidents.length === 0;
    emptySlot.replaceChildren(incidents.length === 0 && loaded ? emptyState(!isEmpty(filters)) : '');
    more.hidden = !nextCursor;
    const n = incidents.length;
    status.textContent = `${n}${nextCursor ? '+' : ''} incident${n === 1 ? '' : 's'}${isEmpty(filters) ? '' : ' matching'}`;
    if (selectedId && !incidents.some((i) => i.id === selectedId)) selectedId = null;
    if (!selectedId && incidents.length > 0) selectedId = incidents[0]!.id;
    select(selectedId, false);
    if (flashId) {
      const tr = tbody.querySelector<HTMLTableRowElement>(`tr[data-id="${CSS.escape(flashId)}"]`);
      tr?.classList.add('flash');
      tr?.setAttribute('data-live', 'updated');
    }
  }

  async function load(): Promise<void> {
    const mine = (generation += 1);
    loading = true;
    arrivedDuringLoad = [];
    try {
      const page = await listIncidentPage({ signal: controller.signal, query: filtersToQuery(filters) });
      if (mine !== generation) return;
      incidents = page.incidents;
      for (const inc of arrivedDuringLoad) incidents = mergeIncident(incidents, inc, filters).list;
      arrivedDuringLoad = [];
      loading = false;
      nextCursor = page.next_cursor;
      loaded = true;
      errorSlot.replaceChildren();
      paint();
    } catch (e) {
      if (mine === generation) loading = false;
      if (controller.signal.aborted || mine !== generation) return;
      const err = e instanceof ApiError ? e : new ApiError('unexpected', String(e), undefined, 0);
      // Keep showing the last list; say why it is not current.
      errorSlot.replaceChildren(errorBox(err.message, err.hint, err.code));
      status.textContent = 'could not load the list';
    }
  }

  more.addEventListener('click', () => {
    if (!nextCursor) return;
    more.disabled = true;
    listIncidentPage({ signal: controller.signal, query: filtersToQuery(filters), cursor: nextCursor })
      .then((page) => {
        const known = new Set(incidents.map((i) => i.id));
        incidents = [...incidents, ...page.incidents.filter((i) => !known.has(i.id))];
        nextCursor = page.next_cursor;
        paint();
      })
      .catch(() => undefined)
      .finally(() => {
        more.disabled = false;
      });
  });

  const unsubscribe = live.subscribe({
    onOpen: () => {
      // Whatever happened while the socket was down was not sent: load again.
      if (loaded) void load();
    },
    onEvent: (ev) => {
      if (ev.type !== 'incident') return;
      if (loading) arrivedDuringLoad.push(ev.incident);
      if (!loaded || loading) return;
      const merged = mergeIncident(incidents, ev.incident, filters);
      if (merged.change === 'none') return;
      incidents = merged.list;
      paint(merged.change === 'removed' ? undefined : ev.incident.id);
    },
  });

  const onKey = (e: KeyboardEvent): void => {
    const target = e.target as HTMLElement | null;
    const inField = !!target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
    const action = listKeyAction(e, inField);
    if (!action) return;
    if (inField && target !== search && action !== 'leave') return;
    // Enter on a link or a button elsewhere does what it always does.
    if (action === 'open' && target && target !== document.body && !tbody.contains(target)) return;
    e.preventDefault();
    if (action === 'search') {
      search.focus();
      search.select();
      return;
    }
    if (action === 'leave') {
      (target as HTMLElement).blur();
      select(selectedId, true);
      return;
    }
    const index = incidents.findIndex((i) => i.id === selectedId);
    if (action === 'open') {
      if (selectedId) window.location.hash = incidentHref(selectedId);
      return;
    }
    const next = moveSelection(index, action, incidents.length);
    if (next >= 0) select(incidents[next]!.id, true);
  };
  document.addEventListener('keydown', onKey);

  const ages = setInterval(() => {
    const now = Date.now() / 1000;
    for (const el of tbody.querySelectorAll<HTMLElement>('.age')) el.textContent = formatAgo(Number(el.dataset['t']), now);
  }, AGE_TICK_MS);

  void load();
  return () => {
    controller.abort();
    unsubscribe();
    clearTimeout(typingTimer);
    clearInterval(ages);
    document.removeEventListener('keydown', onKey);
  };
}
