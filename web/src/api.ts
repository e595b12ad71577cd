// The `/api/v1` wire format (mirrors crates/rewind-model/src/api.rs and friends)
// and the fetch calls the views use.

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const STATUSES = ['open', 'acknowledged', 'mitigated', 'resolved'] as const;
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
  /** Groups repeated triggers: rule + device + the rule's labels, hashed. */
  fingerprint: string;
  /** Bundles (triggers) that joined this incident, the first included. */
  occurrences: number;
  fleet?: string;
  service?: string;
  triggered_at: Timestamp;
  last_triggered_at: Timestamp;
  window: TimeRange;
  received_at: Timestamp;
  updated_at: Timestamp;
  bundle_bytes: number;
  /** The resolved incident this one reopens. */
  reopened_from?: string;
}

export interface IncidentList {
  /** Newest first. */
  incidents: IncidentSummary[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  next_cursor?: string;
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

/** One bundle attached to an incident (`IncidentDetail.bundles`). */
export interface BundleRef {
  bundle_id: string;
  triggered_at: Timestamp;
  received_at: Timestamp;
  bytes: number;
  sha256: string;
}

/** `GET /api/v1/incidents/{id}`. */
export interface IncidentDetail extends IncidentSummary {
  trigger: Trigger;
  series: SeriesData[];
  /** Every bundle attached, oldest first. */
  bundles?: BundleRef[];
  /** The newest incident that reopens this one, once it was reopened. */
  reopened_as?: string;
  /**
   * The newest bundle's events, when the server sends them (it does not
   * yet: the dashboard then reads them from the bundle itself).
   */
  events?: BundleEvent[];
}

/** One line of a bundle's `events.jsonl` (`rewind_model::Event`). */
export interface BundleEvent {
  ts: Timestamp;
  source: string;
  /** `log`, `process_missing`, …, or `{"custom": "<name>"}`. */
  kind: string | { custom: string };
  level: string;
  message: string;
  fields?: Record<string, string>;
}

/** What one timeline entry records, tagged by `kind`. */
export type Change =
  | { kind: 'opened'; bundle_id: string; triggered_at: Timestamp; reopened_from?: string; reason?: string }
  | { kind: 'occurrence'; bundle_id: string; triggered_at: Timestamp }
  | { kind: 'transition'; from: IncidentStatus; to: IncidentStatus; reason?: string }
  | { kind: 'note'; text: string }
  | { kind: 'deploy'; deploy_id: string; service: string; version: string };

/** One thing that happened to an incident (`GET /api/v1/incidents/{id}/timeline`). */
export type TimelineEntry = {
  /** From 1, without gaps. */
  seq: number;
  /** Server clock. */
  at: Timestamp;
  /** A token's name, `device:<id>`, or `rewind`. */
  actor: string;
} & Change;

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
    /** Facts for programs: `{from, to, allowed}` on `invalid_transition`. */
    readonly details?: Record<string, unknown>,
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
      const details = isRecord(err['details']) ? err['details'] : undefined;
      return new ApiError(code, err['message'], hint, status, details);
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

/** Options every call takes. */
export interface CallOptions {
  signal?: AbortSignal;
  fetch?: FetchLike;
}

/**
 * The header every write carries: the server refuses cookie-authenticated
 * writes without it, and browsers only send it from this origin.
 */
export const CSRF_HEADER = 'x-rewind-csrf';

type UnauthorizedHandler = (err: ApiError) => void;
let unauthorizedHandler: UnauthorizedHandler | null = null;

/**
 * Sets what happens when a call answers 401 (no session, or its token was
 * revoked or expired): the dashboard shows its sign-in view. Sign-in itself
 * does not trigger it: a wrong token is shown in the form.
 */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  unauthorizedHandler = handler;
}

/**
 * One API call: same-origin credentials (the session cookie), the CSRF
 * header on anything but GET, a JSON body when given. Returns the parsed
 * JSON, `undefined` for an empty answer (204), or throws an `ApiError`.
 */
export async function call<T>(
  method: string,
  path: string,
  opts: CallOptions & { body?: unknown; notifyUnauthorized?: boolean } = {},
): Promise<T> {
  const doFetch: FetchLike = opts.fetch ?? ((input, init) => fetch(input, init));
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers[CSRF_HEADER] = '1';
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await doFetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
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
  if (!res.ok) {
    const err = parseApiError(res.status, res.statusText, text);
    if (res.status === 401 && opts.notifyUnauthorized !== false) unauthorizedHandler?.(err);
    throw err;
  }
  if (text.trim() === '') return undefined as T;
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

/** GETs `path` and returns the parsed JSON, or throws an `ApiError`. */
export async function getJson<T>(path: string, opts: CallOptions = {}): Promise<T> {
  return call<T>('GET', path, opts);
}

/** Who is signed in (`GET`/`POST /api/v1/session`). */
export interface SessionInfo {
  name: string;
  role: 'viewer' | 'responder' | 'admin';
  expires_at?: Timestamp;
}

function checkSession(path: string, body: unknown): SessionInfo {
  if (!isRecord(body) || typeof body['name'] !== 'string' || typeof body['role'] !== 'string') {
    throw badShape(path, '`name` and `role`');
  }
  return body as unknown as SessionInfo;
}

/**
 * Signs in with a user token: the server checks it and keeps it in an
 * HttpOnly cookie (this page never stores it). A wrong token rejects with
 * the server's `ApiError` and does not call the unauthorized handler.
 */
export async function signIn(token: string, opts: CallOptions = {}): Promise<SessionInfo> {
  const path = '/api/v1/session';
  const body = await call<unknown>('POST', path, {
    ...opts,
    body: { token: token.trim() },
    notifyUnauthorized: false,
  });
  return checkSession(path, body);
}

/** Who is signed in; a 401 calls the unauthorized handler. */
export async function whoAmI(opts: CallOptions = {}): Promise<SessionInfo> {
  const path = '/api/v1/session';
  return checkSession(path, await getJson<unknown>(path, opts));
}

/** Signs out: the server clears the cookie. */
export async function signOut(opts: CallOptions = {}): Promise<void> {
  await call<unknown>('DELETE', '/api/v1/session', { ...opts, notifyUnauthorized: false });
}

/** A sign-in link's token, and the address fragment to show once it is taken out. */
export interface LinkToken {
  token: string;
  /** The route without the token: `#/` or `#/incidents/<id>`. */
  hash: string;
}

/**
 * The token of a sign-in link, `#token=rwd_…` or `#/incidents/<id>?token=rwd_…`
 * (as `rewind demo` prints), or `null` when the fragment carries none.
 */
export function tokenFromHash(hash: string): LinkToken | null {
  const fragment = hash.startsWith('#') ? hash.slice(1) : hash;
  let route = '';
  let query = '';
  if (fragment.startsWith('token=')) {
    query = fragment;
  } else {
    const q = fragment.indexOf('?');
    if (q < 0) return null;
    route = fragment.slice(0, q);
    query = fragment.slice(q + 1);
  }
  const params = new URLSearchParams(query);
  const token = params.get('token')?.trim() ?? '';
  if (token === '') return null;
  params.delete('token');
  const rest = params.toString();
  return { token, hash: `#${route || '/'}${rest ? `?${rest}` : ''}` };
}

function badShape(path: string, what: string): ApiError {
  return new ApiError(
    'bad_response',
    `The response to ${path} has no ${what}.`,
    'The dashboard and the server may be of different versions.',
    200,
  );
}

/**
 * `GET /api/v1/incidents`, newest first. `query` holds the list's filters
 * (`status=open,acknowledged&min_severity=high…`, see filters.ts).
 */
export async function listIncidents(opts: CallOptions & { query?: string } = {}): Promise<IncidentSummary[]> {
  return (await listIncidentPage(opts)).incidents;
}

/** One page of `GET /api/v1/incidents`, with the cursor of the next one when there is more. */
export async function listIncidentPage(
  opts: CallOptions & { query?: string; cursor?: string } = {},
): Promise<IncidentList> {
  const params = new URLSearchParams(opts.query ?? '');
  if (opts.cursor) params.set('cursor', opts.cursor);
  const q = params.toString();
  const path = `/api/v1/incidents${q ? `?${q}` : ''}`;
  const body = await getJson<unknown>(path, opts);
  if (!isRecord(body) || !Array.isArray(body['incidents'])) throw badShape(path, '`incidents` list');
  const next = typeof body['next_cursor'] === 'string' ? body['next_cursor'] : undefined;
  return { incidents: body['incidents'] as IncidentSummary[], ...(next ? { next_cursor: next } : {}) };
}

/** `GET /api/v1/incidents/{id}`. */
export async function getIncident(id: string, opts: CallOptions = {}): Promise<IncidentDetail> {
  const path = `/api/v1/incidents/${encodeURIComponent(id)}`;
  const body = await getJson<unknown>(path, opts);
  if (!isRecord(body) || !isRecord(body['trigger'])) throw badShape(path, '`trigger`');
  if (!Array.isArray(body['series'])) throw badShape(path, '`series` list');
  return body as unknown as IncidentDetail;
}

function incidentPath(id: string, rest = ''): string {
  return `/api/v1/incidents/${encodeURIComponent(id)}${rest}`;
}

/** `GET /api/v1/incidents/{id}/timeline`, oldest first. */
export async function getTimeline(id: string, opts: CallOptions = {}): Promise<TimelineEntry[]> {
  const path = incidentPath(id, '/timeline');
  const body = await getJson<unknown>(path, opts);
  if (!Array.isArray(body)) throw badShape(path, 'list of timeline entries');
  return body as TimelineEntry[];
}

/** `POST /api/v1/incidents/{id}/transitions`: the incident as it is after the move. */
export async function transition(
  id: string,
  to: IncidentStatus,
  reason: string,
  opts: CallOptions = {},
): Promise<IncidentSummary> {
  const body: { to: IncidentStatus; reason?: string } = { to };
  if (reason.trim() !== '') body.reason = reason.trim();
  return call<IncidentSummary>('POST', incidentPath(id, '/transitions'), { ...opts, body });
}

/** `POST /api/v1/incidents/{id}/reopen`: the new incident. */
export async function reopen(id: string, reason: string, opts: CallOptions = {}): Promise<IncidentSummary> {
  const body = reason.trim() !== '' ? { reason: reason.trim() } : {};
  return call<IncidentSummary>('POST', incidentPath(id, '/reopen'), { ...opts, body });
}

/** `POST /api/v1/incidents/{id}/notes`: the timeline entry written. */
export async function addNote(id: string, text: string, opts: CallOptions = {}): Promise<TimelineEntry> {
  return call<TimelineEntry>('POST', incidentPath(id, '/notes'), { ...opts, body: { text } });
}

/** Where the downloads of an incident are (plain links: the cookie authenticates them). */
export function downloadLinks(detail: Pick<IncidentSummary, 'id' | 'bundle_id'>): {
  bundle: string;
  markdown: string;
  json: string;
} {
  return {
    bundle: `/api/v1/bundles/${encodeURIComponent(detail.bundle_id)}`,
    markdown: incidentPath(detail.id, '/export.md'),
    json: incidentPath(detail.id, '/export.json'),
  };
}

/** `GET /api/v1/bundles/{id}`: the zip, byte for byte. */
export async function fetchBundle(bundleId: string, opts: CallOptions = {}): Promise<ArrayBuffer> {
  const doFetch: FetchLike = opts.fetch ?? ((input, init) => fetch(input, init));
  const path = `/api/v1/bundles/${encodeURIComponent(bundleId)}`;
  let res: Response;
  try {
    res = await doFetch(path, {
      credentials: 'same-origin',
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError('network', 'Could not reach the Rewind server.', undefined, 0);
  }
  if (!res.ok) throw parseApiError(res.status, res.statusText, await res.text());
  return res.arrayBuffer();
}
