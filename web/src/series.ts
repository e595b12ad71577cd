// Which series an incident shows first. An agent records ~100 series; a page
// of 100 charts hides the few that explain the incident, so the evidence and
// the machine's headline series come first and the rest wait, folded.

import type { IncidentDetail, SeriesData } from './api';

/** Headline series, in the order they are shown after the evidence. */
const HEADLINE: RegExp[] = [
  /^cpu\.total\.busy_pct$/,
  /^memory\.used_pct$/,
  /^memory\.available_bytes$/,
  /^load\.avg1$/,
  /^pressure\.(cpu|memory|io)\.some_avg10$/,
  /^process\.[^.]+\.(cpu_pct|rss_bytes)$/,
  /^gpu\.\d+\.util_pct$/,
  /^topic\..+\.rate_hz$/,
];

/** At most this many series are shown unfolded (evidence always is). */
export const PRIMARY_MAX = 8;

export interface Partition {
  /** Shown at once: the evidence, then headline series. */
  primary: SeriesData[];
  /** Folded under "more series", in name order. */
  rest: SeriesData[];
}

function headlineRank(name: string): number {
  const i = HEADLINE.findIndex((re) => re.test(name));
  return i < 0 ? Number.POSITIVE_INFINITY : i;
}

/** Splits an incident's series into what to show first and what to fold. */
export function partitionSeries(detail: IncidentDetail, max = PRIMARY_MAX): Partition {
  const evidence = new Set(detail.trigger.evidence.map((e) => e.series));
  const primary = detail.series.filter((s) => evidence.has(s.name));
  const candidates = detail.series
    .filter((s) => !evidence.has(s.name) && Number.isFinite(headlineRank(s.name)))
    .sort((a, b) => headlineRank(a.name) - headlineRank(b.name) || a.name.localeCompare(b.name));
  for (const s of candidates) {
    if (primary.length >= max) break;
    primary.push(s);
  }
  const shown = new Set(primary.map((s) => s.name));
  const rest = detail.series
    .filter((s) => !shown.has(s.name))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { primary, rest };
}
