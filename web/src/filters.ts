// The incident list's filters: kept in the address (`#/?status=open&q=cpu`)
// so a link reproduces the view, sent to the server as the list's query, and
// checked here too so a live event can tell whether its incident belongs in
// the filtered list.

import { SEVERITIES, STATUSES, type IncidentStatus, type IncidentSummary, type Severity } from './api';

export interface Filters {
  /** Any of these statuses; empty means any. */
  status: IncidentStatus[];
  /** At or above this severity. */
  minSeverity: Severity | null;
  /** Exactly this service. */
  service: string;
  /** Exactly this fleet. */
  fleet: string;
  /** The rule name or the summary contains this, case-insensitively. */
  q: string;
}

export const NO_FILTERS: Filters = { status: [], minSeverity: null, service: '', fleet: '', q: '' };

/** The server refuses longer text parameters (`400 bad_query`). */
const MAX_TEXT_BYTES = 256;

function clip(text: string): string {
  const t = text.trim();
  const bytes = new TextEncoder().encode(t);
  if (bytes.length <= MAX_TEXT_BYTES) return t;
  // Cut on a character boundary.
  let out = '';
  let n = 0;
  for (const ch of t) {
    n += new TextEncoder().encode(ch).length;
    if (n > MAX_TEXT_BYTES) break;
    out += ch;
  }
  return out;
}

/** Filters from a query string (`status=open,acknowledged&min_severity=high&q=cpu`); unknown values are dropped. */
export function parseFilters(query: string | URLSearchParams): Filters {
  const params = typeof query === 'string' ? new URLSearchParams(query.replace(/^\?/, '')) : query;
  const wanted = new Set(
    (params.get('status') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const sev = params.get('min_severity') ?? '';
  return {
    status: STATUSES.filter((s) => wanted.has(s)),
    minSeverity: (SEVERITIES as readonly string[]).includes(sev) ? (sev as Severity) : null,
    service: clip(params.get('service') ?? ''),
    fleet: clip(params.get('fleet') ?? ''),
    q: clip(params.get('q') ?? ''),
  };
}

/**
 * The query string for these filters, without `?`: the same text goes in the
 * address and to `GET /api/v1/incidents` (whose parameters these are). Empty
 * filters give an empty string; the order is fixed so equal filters give
 * equal links.
 */
export function filtersToQuery(f: Filters): string {
  const params = new URLSearchParams();
  if (f.status.length > 0 && f.status.length < STATUSES.length) {
    params.set('status', STATUSES.filter((s) => f.status.includes(s)).join(','));
  }
  if (f.minSeverity && f.minSeverity !== 'info') params.set('min_severity', f.minSeverity);
  if (f.service.trim()) params.set('service', clip(f.service));
  if (f.fleet.trim()) params.set('fleet', clip(f.fleet));
  if (f.q.trim()) params.set('q', clip(f.q));
  // URLSearchParams writes `,` as %2C; keep the address readable.
  return params.toString().replace(/%2C/gi, ',');
}

/** The list's address for these filters. */
export function listHref(f: Filters): string {
  const q = filtersToQuery(f);
  return q ? `#/?${q}` : '#/';
}

export function isEmpty(f: Filters): boolean {
  return filtersToQuery(f) === '';
}

function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** Whether an incident belongs in the list these filters show (the server's rules, applied here). */
export function matchesFilters(inc: IncidentSummary, f: Filters): boolean {
  if (f.status.length > 0 && !f.status.includes(inc.status)) return false;
  if (f.minSeverity && severityRank(inc.severity) < severityRank(f.minSeverity)) return false;
  if (f.service.trim() && inc.service !== f.service.trim()) return false;
  if (f.fleet.trim() && inc.fleet !== f.fleet.trim()) return false;
  const q = f.q.trim().toLowerCase();
  if (q && !inc.rule.toLowerCase().includes(q) && !inc.summary.toLowerCase().includes(q)) return false;
  return true;
}
