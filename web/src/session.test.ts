import { afterEach, describe, expect, it } from 'vitest';
import {
  ApiError,
  CSRF_HEADER,
  call,
  listIncidents,
  setUnauthorizedHandler,
  signIn,
  signOut,
  tokenFromHash,
  whoAmI,
  type FetchLike,
} from './api';

interface Seen {
  url: string;
  init: RequestInit;
}

/** A fetch that records its calls and answers `status` with `body`. */
function recorder(status: number, body: string): { fetch: FetchLike; seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    fetch: async (url, init) => {
      seen.push({ url, init: init ?? {} });
      return new Response(status === 204 ? null : body, { status });
    },
  };
}

function header(init: RequestInit, name: string): string | undefined {
  return (init.headers as Record<string, string> | undefined)?.[name];
}

const UNAUTHORIZED = JSON.stringify({
  error: { code: 'unauthorized', message: 'this route needs a token', hint: 'sign in' },
});

afterEach(() => setUnauthorizedHandler(null));

describe('every call', () => {
  it('sends the session cookie, and the CSRF header on writes only', async () => {
    const r = recorder(200, '{"incidents":[]}');
    await listIncidents({ fetch: r.fetch });
    await call('POST', '/api/v1/x', { fetch: r.fetch, body: { a: 1 } });
    await call('DELETE', '/api/v1/x', { fetch: r.fetch });
    const [get, post, del] = r.seen;
    for (const s of r.seen) expect(s.init.credentials).toBe('same-origin');
    expect(get?.init.method).toBe('GET');
    expect(header(get!.init, CSRF_HEADER)).toBeUndefined();
    expect(header(post!.init, CSRF_HEADER)).toBe('1');
    expect(header(post!.init, 'Content-Type')).toBe('application/json');
    expect(post?.init.body).toBe('{"a":1}');
    expect(header(del!.init, CSRF_HEADER)).toBe('1');
    expect(del?.init.body).toBeUndefined();
  });

  it('calls the unauthorized handler on a 401, then rejects', async () => {
    const errors: ApiError[] = [];
    setUnauthorizedHandler((e) => errors.push(e));
    const r = recorder(401, UNAUTHORIZED);
    await expect(listIncidents({ fetch: r.fetch })).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    await expect(whoAmI({ fetch: r.fetch })).rejects.toBeInstanceOf(ApiError);
    expect(errors.map((e) => e.code)).toEqual(['unauthorized', 'unauthorized']);
    // 403 (a wrong role) is an error in place, not a sign-in.
    await expect(listIncidents({ fetch: recorder(403, '{"error":{"code":"forbidden","message":"no"}}').fetch })).rejects.toMatchObject({ status: 403 });
    expect(errors).toHaveLength(2);
  });
});

describe('the session', () => {
  it('signs in by posting the token in the body', async () => {
    const r = recorder(200, '{"name":"alice","role":"viewer"}');
    const info = await signIn('  rwd_abc  ', { fetch: r.fetch });
    expect(info).toEqual({ name: 'alice', role: 'viewer' });
    const [s] = r.seen;
    expect(s?.url).toBe('/api/v1/session');
    expect(s?.init.method).toBe('POST');
    expect(JSON.parse(String(s?.init.body))).toEqual({ token: 'rwd_abc' });
    expect(header(s!.init, CSRF_HEADER)).toBe('1');
  });

  it('shows a refused token in the form, without the sign-in handler', async () => {
    let called = false;
    setUnauthorizedHandler(() => {
      called = true;
    });
    const refused = signIn('rwd_wrong', {
      fetch: recorder(401, '{"error":{"code":"unauthorized","message":"unknown token"}}').fetch,
    });
    await expect(refused).rejects.toMatchObject({ message: 'unknown token', status: 401 });
    expect(called).toBe(false);
  });

  it('rejects a sign-in answer of the wrong shape', async () => {
    await expect(signIn('rwd_x', { fetch: recorder(200, '{}').fetch })).rejects.toMatchObject({ code: 'bad_response' });
  });

  it('signs out with DELETE and takes the empty 204', async () => {
    const r = recorder(204, '');
    await expect(signOut({ fetch: r.fetch })).resolves.toBeUndefined();
    expect(r.seen[0]?.init.method).toBe('DELETE');
    expect(header(r.seen[0]!.init, CSRF_HEADER)).toBe('1');
  });
});

describe('tokenFromHash', () => {
  it('reads the token of a sign-in link and keeps the route', () => {
    expect(tokenFromHash('#token=rwd_abc123')).toEqual({ token: 'rwd_abc123', hash: '#/' });
    expect(tokenFromHash('token=rwd_abc123')).toEqual({ token: 'rwd_abc123', hash: '#/' });
    expect(tokenFromHash('#token=rwd_a%2Bb&x=1')).toEqual({ token: 'rwd_a+b', hash: '#/?x=1' });
    expect(tokenFromHash('#/incidents/0190-ab?token=rwd_abc')).toEqual({
      token: 'rwd_abc',
      hash: '#/incidents/0190-ab',
    });
    expect(tokenFromHash('#/?token=rwd_abc')).toEqual({ token: 'rwd_abc', hash: '#/' });
  });

  it('leaves routes without a token alone', () => {
    expect(tokenFromHash('')).toBeNull();
    expect(tokenFromHash('#/')).toBeNull();
    expect(tokenFromHash('#/incidents/abc')).toBeNull();
    expect(tokenFromHash('#/incidents/abc?x=1')).toBeNull();
    expect(tokenFromHash('#token=')).toBeNull();
  });
});
