import { describe, expect, it } from 'vitest';
import { ApiError, conditionLimits, getIncident, getJson, listIncidents, parseApiError } from './api';

function respond(status: number, body: string, statusText = ''): typeof fetch {
  return async () => new Response(body, { status, statusText });
}

describe('parseApiError', () => {
  it('uses the server error body', () => {
    const err = parseApiError(
      404,
      'Not Found',
      JSON.stringify({ error: { code: 'not_found', message: 'no incident 42', hint: 'list them with GET /api/v1/incidents' } }),
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('not_found');
    expect(err.message).toBe('no incident 42');
    expect(err.hint).toBe('list them with GET /api/v1/incidents');
    expect(err.status).toBe(404);
  });

  it('leaves the hint out when the server has none', () => {
    const err = parseApiError(400, '', '{"error":{"code":"bad_request","message":"bad id"}}');
    expect(err.code).toBe('bad_request');
    expect(err.hint).toBeUndefined();
  });

  it('names the status when the body is not an API error', () => {
    const err = parseApiError(502, 'Bad Gateway', '<html><body><h1>502 Bad Gateway</h1></body></html>');
    expect(err.code).toBe('http_502');
    expect(err.message).toBe('The server answered HTTP 502 Bad Gateway: 502 Bad Gateway');
    expect(err.hint).toMatch(/is not answering/);
    expect(parseApiError(404, '', 'Not Found').hint).toMatch(/same version/);
    expect(parseApiError(400, '', 'nope').hint).toBeUndefined();
    expect(parseApiError(500, '', '').message).toBe('The server answered HTTP 500.');
    expect(parseApiError(418, '', '{"error":"teapot"}').code).toBe('http_418');
  });
});

describe('fetching', () => {
  it('returns the incidents of a list', async () => {
    const list = await listIncidents({ fetch: respond(200, '{"incidents":[{"id":"a"}]}') });
    expect(list).toEqual([{ id: 'a' }]);
  });

  it('throws the typed error of a failed call', async () => {
    const call = getIncident('nope', {
      fetch: respond(404, '{"error":{"code":"not_found","message":"no incident nope","hint":"check the id"}}'),
    });
    await expect(call).rejects.toMatchObject({ name: 'ApiError', code: 'not_found', message: 'no incident nope', hint: 'check the id' });
  });

  it('asks for the incident by its encoded id', async () => {
    let asked = '';
    const detail = await getIncident('a/b', {
      fetch: async (url) => {
        asked = url;
        return new Response('{"id":"a/b","trigger":{},"series":[]}');
      },
    });
    expect(asked).toBe('/api/v1/incidents/a%2Fb');
    expect(detail.id).toBe('a/b');
  });

  it('turns a network failure into a hint to start the server', async () => {
    const call = getJson('/api/v1/incidents', {
      fetch: async () => {
        throw new TypeError('Failed to fetch');
      },
    });
    await expect(call).rejects.toMatchObject({ code: 'network', status: 0 });
    await expect(call).rejects.toHaveProperty('hint', expect.stringMatching(/rewind server/));
  });

  it('rejects responses of the wrong shape', async () => {
    await expect(listIncidents({ fetch: respond(200, '<!doctype html>') })).rejects.toMatchObject({ code: 'bad_response' });
    await expect(listIncidents({ fetch: respond(200, '{"items":[]}') })).rejects.toMatchObject({ code: 'bad_response' });
    await expect(getIncident('x', { fetch: respond(200, '{"id":"x"}') })).rejects.toMatchObject({ code: 'bad_response' });
  });
});

describe('conditionLimits', () => {
  it('reads the limits of every comparison', () => {
    expect(conditionLimits({ above: 80 })).toEqual([80]);
    expect(conditionLimits({ below: 1.5 })).toEqual([1.5]);
    expect(conditionLimits({ equals: 0 })).toEqual([0]);
    expect(conditionLimits({ outside: { low: 10, high: 90 } })).toEqual([10, 90]);
    expect(conditionLimits({ is: 'throttling' })).toEqual([]);
  });
});
