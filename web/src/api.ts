// The `/api/v1` wire format (mirrors crates/rewind-model/src/api.rs and friends)
// and the fetch calls the views use.

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const STATUSES = ['open', 'acknowledged', 'investigating', 'resolved', 'closed'] as const;
export type IncidentStatus = (typeof STATUSES)[number];

/** RFC 3339 text, up to nanosecond precision. Parse with `parseTimestamp`. */
export type Timestamp = string;

export interface TimeRange {
  start: Timestamp;
  end: Timestamp;
}

/** One incident as listed by `GET /api/v1/incidents`. */
export interface IncidentSummary {
  id: string;
  device_id: string;
  bundle_id: string;
  rule: string;
  severity: Severity;
  status: IncidentStatus;
  summary: string;
  triggered_at: Timestamp;
  window: TimeRange;
  received_at: Timestamp;
  bundle_bytes: number;
}

export interface IncidentList {
  /** Newest first. */
  incidents: IncidentSummary[];
}

/** The comparison a rule makes, with its limit (the rules file's shape). */
export type Condition =
  | { above: number }
  | { below: number }
  | { equals: number }
  | { outside: { low: number; high: number } }
  | { is: string };

/** What "normal" looked like, for rules that learn it (`change`). */
export interface Baseline {
  level: number;
  spread: number;
  samples: number;
  window_nanos: number;
}

export interface Evidence {
  series: string;
  condition: Condition;
  observed: number;
  peak: number;
  since: Timestamp;
  samples: number;
  baseline?: Baseline;
  /** When a `trend` rule predicts the crossing. */
  predicted_at?: Timestamp;
  window_nanos?: number;
  /** A text observation: a state, a matched log line, a deploy. */
  text?: string;
}

export interface Trigger {
  rule: string;
  rule_type: string;
  severity: Severity;
  fired_at: Timestamp;
  summary: string;
  evidence: Evidence[];
  labels?: Record<string, string>;
}

/**
 * One series in columnar form: `t` in Unix seconds, `v` the same length.
 * A value the server could not encode (NaN, infinity) arrives as `null`.
 */
export interface SeriesData {
  name: string;
  unit: string;
  t: number[];
  v: Array<number | null>;
}

/** `GET /api/v1/incidents/{id}`. */
export interface IncidentDetail extends IncidentSummary {
  trigger: Trigger;
  series: SeriesData[];
}

/** The limits of a condition to draw on a chart: one line, two for a band, none for a text state. */
export function conditionLimits(condition: Condition): number[] {
  if ('above' in condition) return [condition.above];
  if ('below' in condition) return [condition.below];
  if ('equals' in condition) return [condition.equals];
  if ('outside' in condition) return [condition.outside.low, condition.outside.high];
  return [];
}

/** An API call that failed, with text fit to show people. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** Stable machine-readable code (`not_found`, …, or `network`/`bad_response`/`http_<status>`). */
    readonly code: string,
    message: string,
    /** What to do about it, when there is something to say. */
    readonly hint: string | undefined,
    /** HTTP status, 0 when the server was not reached. */
    readonly status: number,
  ) {
    super(message);
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function hintForStatus(status: number): string | undefined {
  if (status === 502 || status === 503 || status === 504) {
    return 'The Rewind server, or a proxy in front of it, is not answering: check that `rewind server` is running.';
  }
  if (status === 404 || status >= 500) {
    return 'Check that this page is served by a `rewind server` of the same version.';
  }
  return undefined;
}

/**
 * Turns a failed response into an `ApiError`. The server's own
 * `{"error":{"code","message","hint"}}` body is used when there is one;
 * anything else (a proxy's HTML page, an empty body) gets a generic message
 * that still names the HTTP status.
 */
export function parseApiError(status: number, statusText: string, body: string): ApiError {
  try {
    const parsed: unknown = JSON.parse(body);
    const err = isRecord(parsed) ? parsed['error'] : undefined;
    if (isRecord(err) && typeof err['message'] === 'string') {
      const code = typeof err['code'] === 'string' ? err['code'] : `http_${status}`;
      const hint = typeof err['hint'] === 'string' && err['hint'] !== '' ? err['hint'] : undefined;
      return new ApiError(code, err['message'], hint, status);
    }
  } catch {
    // not JSON: fall through
  }
  const label = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  const snippet = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return new ApiError(
    `http_${status}`,
    snippet ? `The server answered ${label}: ${snippet}` : `The server answered ${label}.`,
    hintForStatus(status),
    status,
  );
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** GETs `path` and returns the parsed JSON, or throws an `ApiError`. */
export async function getJson<T>(
  path: string,
  opts: { signal?: AbortSignal; fetch?: FetchLike } = {},
): Promise<T> {
  const doFetch: FetchLike = opts.fetch ?? ((input, init) => fetch(input, init));
  let res: Response;
  try {
    res = await doFetch(path, {
      headers: { Accept: 'application/json' },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(
      'network',
      'Could not reach the Rewind server.',
      'Check that `rewind server` is running and reachable from this browser.',
      0,
    );
  }
  const text = await res.text();
  if (!res.ok) throw parseApiError(res.status, res.statusText, text);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(
      'bad_response',
      `The server sent a response to ${path} that is not JSON.`,
      'Check that this page is served by `rewind server`.',
      res.status,
    );
  }
}

function badShape(path: string, what: string): ApiError {
  return new ApiError(
    'bad_response',
    `The response to ${path} has no ${what}.`,
    'The dashboard and the server may be of different versions.',
    200,
  );
}

/** `GET /api/v1/incidents`, newest first. */
export async function listIncidents(
  opts: { signal?: AbortSignal; fetch?: FetchLike } = {},
): Promise<IncidentSummary[]> {
  const path = '/api/v1/incidents';
  const body = await getJson<unknown>(path, opts);
  if (!isRecord(body) || !Array.isArray(body['incidents'])) throw badShape(path, '`incidents` list');
  return body['incidents'] as IncidentSummary[];
}

/** `GET /api/v1/incidents/{id}`. */
export async function getIncident(
  id: string,
  opts: { signal?: AbortSignal; fetch?: FetchLike } = {},
): Promise<IncidentDetail> {
  const path = `/api/v1/incidents/${encodeURIComponent(id)}`;
  const body = await getJson<unknown>(path, opts);
  if (!isRecord(body) || !isRecord(body['trigger'])) throw badShape(path, '`trigger`');
  if (!Array.isArray(body['series'])) throw badShape(path, '`series` list');
  return body as unknown as IncidentDetail;
}
