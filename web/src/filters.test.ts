import { describe, expect, it } from 'vitest';
import type { IncidentSummary } from './api';
import { NO_FILTERS, filtersToQuery, isEmpty, listHref, matchesFilters, parseFilters } from './filters';
import { parseRoute } from './route';

function inc(over: Partial<IncidentSummary> = {}): IncidentSummary {
  return {
    id: '01a209e2-d1c7-7083-9f21-ace1fc36c8cb',
    device_id: 'vm',
    bundle_id: 'b',
    rule: 'CPU saturated',
    severity: 'high',
    status: 'open',
    summary: 'cpu.total.busy_pct stayed above 70',
    fingerprint: 'f',
    occurrences: 1,
    triggered_at: '2026-11-23T19:29:47Z',
    last_triggered_at: '2026-11-23T19:29:47Z',
    window: { start: '2026-11-23T19:29:37Z', end: '2026-11-23T19:29:49Z' },
    received_at: '2026-11-23T19:29:49Z',
    updated_at: '2026-11-23T19:29:49Z',
    bundle_bytes: 1,
    ...over,
  };
}

describe('URL filters', () => {
  it('round-trip through the address', () => {
    const f = { status: ['open', 'acknowledged'] as const, minSeverity: 'high' as const, service: 'checkout', fleet: 'warehouse east', q: 'p95 & latency' };
    const href = listHref({ ...f, status: [...f.status] });
    expect(href).toBe('#/?status=open,acknowledged&min_severity=high&service=checkout&fleet=warehouse+east&q=p95+%26+latency');
    const route = parseRoute(href);
    expect(route.name).toBe('list');
    const back = parseFilters(route.name === 'list' ? route.query : '');
    expect(back).toEqual({ ...f, status: [...f.status] });
    expect(filtersToQuery(back)).toBe(href.slice(3));
  });

  it('give the bare list for no filters, and drop what they do not know', () => {
    expect(listHref(NO_FILTERS)).toBe('#/');
    expect(isEmpty(parseFilters('status=closed&min_severity=huge&limit=3'))).toBe(true);
    // every status, or info and above, is no filter at all
    expect(filtersToQuery(parseFilters('status=resolved,open,mitigated,acknowledged&min_severity=info'))).toBe('');
  });

  it('write statuses in lifecycle order so equal filters make equal links', () => {
    expect(filtersToQuery(parseFilters('status=resolved,open'))).toBe('status=open,resolved');
  });

  it('clip text to what the server accepts (256 bytes)', () => {
    const f = parseFilters(`q=${'é'.repeat(200)}`);
    expect(new TextEncoder().encode(f.q).length).toBeLessThanOrEqual(256);
  });
});

describe('matchesFilters', () => {
  it('applies the server rules to one incident', () => {
    const a = inc({ service: 'checkout', fleet: 'prod' });
    expect(matchesFilters(a, NO_FILTERS)).toBe(true);
    expect(matchesFilters(a, parseFilters('status=acknowledged'))).toBe(false);
    expect(matchesFilters(a, parseFilters('min_severity=critical'))).toBe(false);
    expect(matchesFilters(a, parseFilters('min_severity=medium'))).toBe(true);
    expect(matchesFilters(a, parseFilters('service=checkout&fleet=prod'))).toBe(true);
    expect(matchesFilters(a, parseFilters('service=check'))).toBe(false);
    expect(matchesFilters(a, parseFilters('q=cpu'))).toBe(true);
    expect(matchesFilters(a, parseFilters('q=BUSY_PCT'))).toBe(true);
    expect(matchesFilters(a, parseFilters('q=gpu'))).toBe(false);
  });
});
