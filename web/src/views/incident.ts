// `#/incidents/<id>`: what tripped, the correlation timeline of every series
// around it, and beside it the status and its moves, the evidence, notes,
// who did what, and the downloads. Live: `incident` events for this incident
// update the status and the activity without a reload.

import {
  ApiError,
  getIncident,
  getTimeline,
  type BundleEvent,
  type IncidentDetail,
  type IncidentSummary,
  type TimelineEntry,
} from '../api';
import { AUTO_FETCH_MAX_BYTES, loadBundleEvents } from '../bundle';
import { getCheck } from '../deploys';
import { badge, errorBox, h, withCode } from '../dom';
import { placeEvents, type DeployMarkInput } from '../events';
import { formatBytes, formatDateTime, formatDuration, formatRelative, parseTimestamp } from '../format';
import { isActive, statusFromTimeline } from '../lifecycle';
import { live, type LiveEvent } from '../live';
import { mergeTimelineEntry } from '../live-merge';
import { incidentHref } from '../route';
import { activityPanel, downloadsPanel, evidencePanel, lifecyclePanel, notesPanel } from './incident-side';
import { mountTimeline, type MountedTimeline } from './timeline';

function backLink(): HTMLElement {
  return h('a', { class: 'back', href: '#/', 'data-testid': 'back-link' }, '← Back to incidents');
}

function fact(label: string, value: Node | string, title?: string): HTMLElement {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', title ? { title } : {}, value));
}

/** The deploys to mark: linked on the timeline, or named by the trigger (a regression's). */
function deployIds(detail: IncidentDetail, entries: readonly TimelineEntry[]): string[] {
  const ids = new Set<string>();
  const fromLabel = detail.trigger.labels?.['deploy_id'];
  if (fromLabel) ids.add(fromLabel);
  for (const e of entries) if (e.kind === 'deploy') ids.add(e.deploy_id);
  return [...ids];
}

interface Page {
  /** A live event; the page keeps what concerns it. */
  onEvent(ev: LiveEvent): void;
  /** The live stream (re)opened: what was missed is loaded again. */
  onOpen(): void;
  destroy(): void;
}

function renderDetail(root: HTMLElement, detail: IncidentDetail, firstEntries: TimelineEntry[], signal: AbortSignal): Page {
  const id = detail.id;
  const firedAt = parseTimestamp(detail.trigger.fired_at);
  const start = parseTimestamp(detail.window.start);
  const end = parseTimestamp(detail.window.end);
  let entries = firstEntries;
  let status = entries.length > 0 ? statusFromTimeline(entries) : detail.status;
  let events: BundleEvent[] = detail.events ?? [];
  const deploys = new Map<string, DeployMarkInput>();

  // --- head ---------------------------------------------------------------------------
  const statusBadge = h('span', { 'data-testid': 'status-badge' }, badge('status', status));
  const occurrences = h('span', {}, String(detail.occurrences));
  const notice = h('div', { 'aria-live': 'polite' });
  const who = detail.service && detail.service !== detail.device_id ? `${detail.service} on ${detail.device_id}` : detail.device_id;
  root.append(
    backLink(),
    h(
      'header',
      { class: 'incident-head' },
      h('h2', { 'data-testid': 'incident-title' }, detail.rule),
      h('div', { class: 'badges' }, badge('severity', detail.severity), statusBadge),
    ),
    h('p', { class: 'trigger-summary', 'data-testid': 'trigger-summary' }, ...withCode(detail.trigger.summary)),
    notice,
    h(
      'dl',
      { class: 'facts' },
      fact(detail.service ? 'Service / device' : 'Device', h('code', {}, who)),
      detail.fleet ? fact('Fleet', detail.fleet) : null,
      fact('Triggered (T+0)', formatDateTime(firedAt, { millis: true }), detail.trigger.fired_at),
      fact('Window', `${formatRelative(start - firedAt)} to ${formatRelative(end - firedAt)} (${formatDuration(end - start)})`, `${detail.window.start} – ${detail.window.end}`),
      fact('Occurrences', occurrences),
      fact('Rule type', detail.trigger.rule_type),
      fact('Bundle', formatBytes(detail.bundle_bytes), detail.bundle_id),
      fact('Incident', h('code', { class: 'id' }, id)),
    ),
  );
  if (detail.reopened_as) {
    notice.append(h('p', { class: 'notice' }, 'This incident was reopened as ', h('a', { href: incidentHref(detail.reopened_as) }, 'a new incident'), '.'));
  }
  if (detail.reopened_from) {
    notice.append(h('p', { class: 'notice' }, 'This reopens ', h('a', { href: incidentHref(detail.reopened_from) }, 'a resolved incident'), '.'));
  }

  // --- layout: the timeline, and beside it the panels ---------------------------------------------
  const mainCol = h('div', { class: 'incident-main' });
  const side = h('aside', { class: 'incident-side', 'aria-label': 'Status, evidence, activity and downloads' });
  root.append(h('div', { class: 'incident-layout' }, mainCol, side));

  const timeline: MountedTimeline = mountTimeline(mainCol, {
    id,
    firedAt,
    window: Number.isFinite(start) && Number.isFinite(end) ? { min: start - firedAt, max: end - firedAt } : null,
    series: detail.series,
    evidence: detail.trigger.evidence,
    placement: placeEvents({
      firedAt,
      triggerSummary: detail.trigger.summary,
      occurrences: (detail.bundles ?? []).map((b) => parseTimestamp(b.triggered_at)),
      events,
    }),
    deploys: [],
  });
  const eventsNote = h('p', { class: 'muted small events-note', 'data-testid': 'events-note' });
  mainCol.append(eventsNote);

  const refreshTimeline = (): void => {
    const marks = [...deploys.values()];
    timeline.update(
      placeEvents({
        firedAt,
        triggerSummary: detail.trigger.summary,
        occurrences: (detail.bundles ?? []).map((b) => parseTimestamp(b.triggered_at)),
        deploys: marks,
        events,
      }),
      marks.map((d) => ({ x: d.at - firedAt, label: `${d.service} ${d.version}` })),
    );
  };

  const lifecycle = lifecyclePanel({
    id,
    status,
    onMoved: (summary) => {
      setStatus(summary.status);
      // The move's timeline entry comes over the live stream; without it, load it.
      if (live.status !== 'live') reloadTimeline();
    },
    onReopened: (summary) => {
      window.location.hash = incidentHref(summary.id);
    },
  });
  const notes = notesPanel({ id, active: isActive(status), onAdded: (entry) => addEntry(entry) });
  const activity = activityPanel(notes.el);
  side.append(lifecycle.el, evidencePanel(detail, firedAt), activity.el, downloadsPanel(detail));
  activity.set(entries);

  function setStatus(next: IncidentSummary['status']): void {
    if (next === status) return;
    status = next;
    statusBadge.replaceChildren(badge('status', next));
    lifecycle.setStatus(next);
    notes.setActive(isActive(next));
  }

  function loadDeploy(deployId: string): void {
    if (deploys.has(deployId)) return;
    getCheck(deployId, { signal })
      .then((check) => {
        const at = parseTimestamp(check.deploy.at);
        deploys.set(deployId, { id: deployId, at, service: check.deploy.service, version: check.deploy.version, verdict: check.verdict });
        refreshTimeline();
      })
      .catch(() => undefined);
  }

  function reloadTimeline(): void {
    getTimeline(id, { signal })
      .then((fresh) => {
        entries = fresh;
        activity.set(entries);
        setStatus(statusFromTimeline(entries));
        for (const d of deployIds(detail, entries)) loadDeploy(d);
      })
      .catch(() => undefined);
  }

  function addEntry(entry: TimelineEntry): void {
    const merged = mergeTimelineEntry(entries, entry);
    if (!merged.added) return;
    entries = merged.entries;
    activity.set(entries);
    if (merged.gap) reloadTimeline();
    if (entry.kind === 'transition') setStatus(entry.to);
    if (entry.kind === 'deploy') loadDeploy(entry.deploy_id);
  }

  for (const d of deployIds(detail, entries)) loadDeploy(d);

  // --- events from the bundle (the detail does not carry them) ---------------------------------
  const fetchEvents = (): void => {
    eventsNote.textContent = 'Reading the events from the bundle…';
    loadBundleEvents(detail.bundle_id, { signal })
      .then((list) => {
        events = list;
        eventsNote.textContent =
          list.length === 0
            ? 'The bundle holds no events (kernel, process, log): the events lane shows the trigger and deploys.'
            : `${list.length} event${list.length === 1 ? '' : 's'} read from the bundle.`;
        refreshTimeline();
      })
      .catch((e: unknown) => {
        if (signal.aborted) return;
        eventsNote.textContent = `Could not read the bundle’s events: ${e instanceof Error ? e.message : String(e)}`;
      });
  };
  if (detail.events) {
    refreshTimeline();
  } else if (detail.bundle_bytes <= AUTO_FETCH_MAX_BYTES) {
    fetchEvents();
  } else {
    const b = h('button', { type: 'button', class: 'link-like' }, `Read the events from the bundle (${formatBytes(detail.bundle_bytes)})`);
    b.addEventListener('click', fetchEvents);
    eventsNote.replaceChildren(b);
  }

  // --- live ------------------------------------------------------------------------------------
  const onEvent = (ev: LiveEvent): void => {
    if (ev.type !== 'incident') return;
    if (ev.incident.id === id) {
      occurrences.textContent = String(ev.incident.occurrences);
      addEntry(ev.entry);
      if (ev.entry.kind !== 'transition') setStatus(ev.incident.status);
      if (ev.entry.kind === 'occurrence') {
        notice.replaceChildren(
          h('p', { class: 'notice' }, 'The rule tripped again: a newer bundle arrived. ', h('a', { href: incidentHref(id), 'data-reload': '1' }, 'Reload'), ' to see its data.'),
        );
      }
    } else if (ev.incident.reopened_from === id) {
      notice.replaceChildren(h('p', { class: 'notice' }, 'Reopened as ', h('a', { href: incidentHref(ev.incident.id) }, 'a new incident'), '.'));
    }
  };
  notice.addEventListener('click', (e) => {
    if ((e.target as Element | null)?.closest('[data-reload]')) {
      e.preventDefault();
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    }
  });

  return {
    onEvent,
    onOpen: reloadTimeline,
    destroy() {
      timeline.destroy();
    },
  };
}

/** Loads incident `id` and renders it into `root`. Returns a function that tears it down. */
export function renderIncident(root: HTMLElement, id: string): () => void {
  const controller = new AbortController();
  let page: Page | null = null;
  root.append(h('p', { class: 'muted loading' }, 'Loading incident…'));
  // Listen before loading: what happens meanwhile is applied once the page is there.
  const early: LiveEvent[] = [];
  let reopened = false;
  const unsubscribe = live.subscribe({
    onEvent: (ev) => (page ? page.onEvent(ev) : early.push(ev)),
    onOpen: () => (page ? page.onOpen() : (reopened = true)),
  });

  Promise.all([getIncident(id, { signal: controller.signal }), getTimeline(id, { signal: controller.signal }).catch(() => [])])
    .then(([detail, entries]) => {
      if (controller.signal.aborted) return;
      root.replaceChildren();
      document.title = `${detail.rule} · Rewind`;
      page = renderDetail(root, detail, entries, controller.signal);
      for (const ev of early.splice(0)) page.onEvent(ev);
      if (reopened) page.onOpen();
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
    unsubscribe();
    page?.destroy();
  };
}
