import { describe, expect, it } from 'vitest';
import { incidentHref, parseRoute } from './route';

describe('parseRoute', () => {
  it('routes the list', () => {
    for (const hash of ['', '#', '#/', '#/incidents', '#/incidents/']) {
      expect(parseRoute(hash)).toEqual({ name: 'list', query: '' });
    }
  });

  it('keeps the list filters of the address', () => {
    expect(parseRoute('#/?status=open,acknowledged&q=cpu')).toEqual({
      name: 'list',
      query: 'status=open,acknowledged&q=cpu',
    });
  });

  it('routes an incident and round-trips its link', () => {
    const id = '0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f';
    expect(parseRoute(`#/incidents/${id}`)).toEqual({ name: 'incident', id });
    expect(parseRoute(incidentHref('a b'))).toEqual({ name: 'incident', id: 'a b' });
    expect(parseRoute('/incidents/x')).toEqual({ name: 'incident', id: 'x' });
  });

  it('routes the deploys and the hidden timing page', () => {
    expect(parseRoute('#/deploys')).toEqual({ name: 'deploys' });
    expect(parseRoute('#/perf?series=20')).toEqual({ name: 'perf', query: 'series=20' });
  });

  it('reports anything else as not found', () => {
    expect(parseRoute('#/nope')).toEqual({ name: 'not-found', path: '/nope' });
    expect(parseRoute('#/incidents/a/b')).toEqual({ name: 'not-found', path: '/incidents/a/b' });
  });
});
