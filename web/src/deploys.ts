// Deploys and their regression checks: the wire types
// (`rewind_model::{Deploy, DeployCheck}`), the calls, and the shaping of a
// check's evidence (`rewind deploy analyze --json`) into table rows.

import { getJson, type CallOptions, type Timestamp } from './api';
import { parseTimestamp } from './format';

export interface Deploy {
  id: string;
  service: string;
  version: string;
  environment: string;
  commit?: string;
  actor?: string;
  at: Timestamp;
  recorded_at: Timestamp;
}

export type CheckState = 'watching' | 'decided' | 'not_watched';

export interface DeployCheck {
  deploy: Deploy;
  state: CheckState;
  /** `regression`, `no_regression`, `inconclusive`; absent when not watched. */
  verdict?: string;
  summary?: string;
  window_end?: Timestamp;
  incident_id?: string;
  decided_at?: Timestamp;
  /** `{"verdict": DeployVerdict, "log_signatures": SignatureReport}`; loosely typed, read with the helpers below. */
  evidence?: unknown;
}

/** `GET /api/v1/deploys`, newest first. */
export async function listDeploys(opts: CallOptions & { limit?: number; until?: string } = {}): Promise<Deploy[]> {
  const params = new URLSearchParams();
  if (opts.limit) params.set('limit', String(opts.limit));
  if (opts.until) params.set('until', opts.until);
  const q = params.toString();
  const path = `/api/v1/deploys${q ? `?${q}` : ''}`;
  const body = await getJson<unknown>(path, opts);
  return Array.isArray(body) ? (body as Deploy[]) : [];
}

/** `GET /api/v1/deploys/{id}/check`. */
export async function getCheck(id: string, opts: CallOptions = {}): Promise<DeployCheck> {
  return getJson<DeployCheck>(`/api/v1/deploys/${encodeURIComponent(id)}/check`, opts);
}

/** One row of the per-metric verdict table. */
export interface MetricRow {
  series: string;
  verdict: string;
  baselineMedian: number | null;
  afterMedian: number | null;
  /** Relative change: 0.5 is +50 %. */
  change: number | null;
  p: number | null;
  confidence: number | null;
  /** When the change started, as Unix seconds. */
  changeAt: number | null;
}

/** One new or more frequent log signature. */
export interface SignatureRow {
  kind: string;
  template: string;
  example: string;
  countBefore: number | null;
  countAfter: number | null;
  summary: string;
  firstAfter: number | null;
}

function rec(x: unknown): Record<string, unknown> | null {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : null;
}
function num(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}
function str(x: unknown): string {
  return typeof x === 'string' ? x : '';
}
function time(x: unknown): number | null {
  const t = typeof x === 'string' ? parseTimestamp(x) : Number.NaN;
  return Number.isFinite(t) ? t : null;
}

/** The check's per-metric verdicts (`evidence.verdict.metrics`), regressions first. */
export function metricRows(check: Pick<DeployCheck, 'evidence'>): MetricRow[] {
  const metrics = rec(rec(check.evidence)?.['verdict'])?.['metrics'];
  if (!Array.isArray(metrics)) return [];
  const rows = metrics.map((m): MetricRow => {
    const r = rec(m) ?? {};
    const detection = rec(r['detection']);
    return {
      series: str(r['series']) || str(r['name']),
      verdict: str(r['verdict']) || str(rec(r['finding'])?.['kind']),
      baselineMedian: num(rec(r['baseline'])?.['median']),
      afterMedian: num(r['after_median']),
      change: num(r['relative_change']),
      p: num(r['p_value']),
      confidence: num(r['confidence']),
      changeAt: time(detection?.['change_at']),
    };
  });
  const rank = (v: string): number => (v === 'regression' ? 0 : v === 'inconclusive' ? 1 : 2);
  return rows
    .map((row, i) => ({ row, i }))
    .sort((a, b) => rank(a.row.verdict) - rank(b.row.verdict) || a.i - b.i)
    .map((x) => x.row);
}

/** The new or more frequent log signatures (`evidence.log_signatures.changes`). */
export function signatureRows(check: Pick<DeployCheck, 'evidence'>): SignatureRow[] {
  const changes = rec(rec(check.evidence)?.['log_signatures'])?.['changes'];
  if (!Array.isArray(changes)) return [];
  return changes.map((c): SignatureRow => {
    const r = rec(c) ?? {};
    return {
      kind: str(r['kind']),
      template: str(r['template']),
      example: str(r['example']),
      countBefore: num(r['count_before']),
      countAfter: num(r['count_after']),
      summary: str(r['summary']),
      firstAfter: time(r['first_after']),
    };
  });
}

/** Whether the verdict so far is partial (the window is still open). */
export function isPartial(check: Pick<DeployCheck, 'state' | 'evidence'>): boolean {
  return check.state === 'watching' || rec(rec(check.evidence)?.['verdict'])?.['partial'] === true;
}

/** Words for a verdict code. */
export function verdictLabel(verdict: string | undefined): string {
  switch (verdict) {
    case 'regression':
      return 'regression';
    case 'no_regression':
      return 'no regression';
    case 'inconclusive':
      return 'inconclusive';
    case undefined:
    case '':
      return 'no verdict';
    default:
      return verdict.replace(/_/g, ' ');
  }
}

/** Words for a check state. */
export function stateLabel(state: CheckState): string {
  return state === 'not_watched' ? 'not watched' : state;
}

/** Deploys newest first (by `at`, then id), the server's order; a new one goes in its place. */
export function mergeDeploy(list: readonly Deploy[], deploy: Deploy): Deploy[] {
  const rest = list.filter((d) => d.id !== deploy.id);
  const t = parseTimestamp(deploy.at);
  let i = 0;
  while (i < rest.length) {
    const ti = parseTimestamp(rest[i]!.at);
    if (ti < t || (ti === t && rest[i]!.id < deploy.id)) break;
    i += 1;
  }
  rest.splice(i, 0, deploy);
  return rest;
}
