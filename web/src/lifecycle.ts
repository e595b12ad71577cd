// The incident lifecycle as the dashboard shows it: which moves a status
// allows (the table in docs/api.md, `IncidentStatus::allowed_next` on the
// server) and what to call the buttons. When the server refuses a move it
// names the moves it does allow (`details.allowed`); that answer wins over
// the table here.

import { ApiError, STATUSES, type IncidentStatus, type TimelineEntry } from './api';

export const ALLOWED_NEXT: Readonly<Record<IncidentStatus, readonly IncidentStatus[]>> = {
  open: ['acknowledged', 'mitigated', 'resolved'],
  acknowledged: ['mitigated', 'resolved'],
  mitigated: ['acknowledged', 'resolved'],
  resolved: [],
};

/** The moves allowed from `status`, in lifecycle order. */
export function allowedTransitions(status: IncidentStatus): IncidentStatus[] {
  return [...(ALLOWED_NEXT[status] ?? [])];
}

/** Whether an incident in this status can still change (notes, moves, deploy links). */
export function isActive(status: IncidentStatus): boolean {
  return status !== 'resolved';
}

/** The verb on a button that moves an incident to `to`. */
export function transitionLabel(to: IncidentStatus, from?: IncidentStatus): string {
  switch (to) {
    case 'acknowledged':
      return from === 'mitigated' ? 'Back to acknowledged' : 'Acknowledge';
    case 'mitigated':
      return 'Mark mitigated';
    case 'resolved':
      return 'Resolve';
    case 'open':
      return 'Open';
  }
}

function isStatus(x: unknown): x is IncidentStatus {
  return typeof x === 'string' && (STATUSES as readonly string[]).includes(x);
}

/**
 * The allowed moves a refused transition names (`409 invalid_transition`,
 * `details.allowed`), in lifecycle order; `null` when the error says nothing
 * about them.
 */
export function allowedFromError(err: unknown): IncidentStatus[] | null {
  if (!(err instanceof ApiError) || err.code !== 'invalid_transition') return null;
  const allowed = err.details?.['allowed'];
  if (!Array.isArray(allowed)) return null;
  const set = new Set(allowed.filter(isStatus));
  return STATUSES.filter((s) => set.has(s));
}

/** The status a refused move says the incident is in (`details.from`), if it says. */
export function statusFromError(err: unknown): IncidentStatus | null {
  if (!(err instanceof ApiError)) return null;
  const from = err.details?.['from'];
  return isStatus(from) ? from : null;
}

/** The status a timeline replays to: the last move's target, `open` before any. */
export function statusFromTimeline(entries: readonly TimelineEntry[]): IncidentStatus {
  let status: IncidentStatus = 'open';
  for (const e of [...entries].sort((a, b) => a.seq - b.seq)) if (e.kind === 'transition') status = e.to;
  return status;
}

/** A timeline entry in words: a short title and the detail (a note's text, a reason). */
export function describeEntry(e: TimelineEntry): { title: string; detail: string } {
  switch (e.kind) {
    case 'opened':
      return e.reopened_from
        ? { title: 'reopened a resolved incident', detail: e.reason ?? '' }
        : { title: 'opened it', detail: `bundle ${e.bundle_id.slice(0, 13)}…` };
    case 'occurrence':
      return { title: 'the rule tripped again', detail: `bundle ${e.bundle_id.slice(0, 13)}…` };
    case 'transition':
      return { title: `moved it ${e.from} → ${e.to}`, detail: e.reason ?? '' };
    case 'note':
      return { title: 'wrote a note', detail: e.text };
    case 'deploy':
      return { title: `linked deploy ${e.service} ${e.version}`, detail: '' };
  }
}
