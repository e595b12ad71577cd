// Applying live `incident` events (see live.ts) to what a page shows: the
// filtered incident list and one incident's timeline. Pure functions, so the
// rules (order, filters, duplicates, gaps) are unit-tested.

import type { IncidentSummary, TimelineEntry } from './api';
import { matchesFilters, type Filters } from './filters';
import { parseTimestamp } from './format';

/** The list's order, as the server sends it: newest first trigger first, then id, both descending. */
export function compareIncidents(a: IncidentSummary, b: IncidentSummary): number {
  const ta = parseTimestamp(a.triggered_at);
  const tb = parseTimestamp(b.triggered_at);
  if (ta !== tb && Number.isFinite(ta) && Number.isFinite(tb)) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export type ListChange = 'added' | 'updated' | 'removed' | 'none';

/**
 * The list after `incident` changed: replaced where it was, added in order
 * when it is new and passes the filters, dropped when it no longer passes
 * them (an incident resolved while the list shows open ones). An event older
 * than what the list holds (`updated_at` before the row's) changes nothing.
 */
export function mergeIncident(
  list: readonly IncidentSummary[],
  incident: IncidentSummary,
  filters: Filters,
): { list: IncidentSummary[]; change: ListChange } {
  const at = list.findIndex((i) => i.id === incident.id);
  const current = at >= 0 ? list[at]! : null;
  if (current) {
    const was = parseTimestamp(current.updated_at);
    const now = parseTimestamp(incident.updated_at);
    if (Number.isFinite(was) && Number.isFinite(now) && now < was) return { list: [...list], change: 'none' };
  }
  const rest = at >= 0 ? [...list.slice(0, at), ...list.slice(at + 1)] : [...list];
  if (!matchesFilters(incident, filters)) {
    return { list: rest, change: current ? 'removed' : 'none' };
  }
  let i = 0;
  while (i < rest.length && compareIncidents(rest[i]!, incident) < 0) i += 1;
  rest.splice(i, 0, incident);
  return { list: rest, change: current ? 'updated' : 'added' };
}

/**
 * The timeline after a live entry: appended once (an entry already shown,
 * say the one this page just wrote, is not doubled), in `seq` order. `gap`
 * says entries were missed (the page should load the whole timeline again).
 */
export function mergeTimelineEntry(
  entries: readonly TimelineEntry[],
  entry: TimelineEntry,
): { entries: TimelineEntry[]; gap: boolean; added: boolean } {
  if (entries.some((e) => e.seq === entry.seq)) return { entries: [...entries], gap: false, added: false };
  const next = [...entries, entry].sort((a, b) => a.seq - b.seq);
  const gap = next.some((e, i) => e.seq !== i + 1);
  return { entries: next, gap, added: true };
}
