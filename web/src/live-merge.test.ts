import { describe, expect, it } from 'vitest';
import type { IncidentSummary, TimelineEntry } from './api';
import { NO_FILTERS, parseFilters } from './filters';
import { mergeIncident, mergeTimelineEntry } from './live-merge';

function inc(id: string, triggered: string, over: Partial<IncidentSummary> = {}): IncidentSummary {
  return {
    id,
    device_id: 'vm',
    bundle_id: 'b',
    rule: 'r',
    severity: 'high',
    status: 'open',
    summary: 's',
    fingerprint: 'f',
    occurrences: 1,
    triggered_at: triggered,
    last_triggered_at: triggered,
    window: { start: triggered, end: triggered },
    received_at: triggered,
    updated_at: '2026-11-23T10:00:00Z',
    bundle_bytes: 1,
    ...over,
  };
}

const a = inc('a', '2026-11-23T10:00:03Z');
const b = inc('b', '2026-11-23T10:00:02.5Z');
const c = inc('c', '2026-11-23T10:00:01Z');

describe('mergeIncident', () => {
  it('adds a new incident in newest-first order', () => {
    const n = inc('n', '2026-11-23T10:00:02.75Z');
    const out = mergeIncident([a, b, c], n, NO_FILTERS);
    expect(out.change).toBe('added');
    expect(out.list.map((i) => i.id)).toEqual(['a', 'n', 'b', 'c']);
    expect(mergeIncident([], n, NO_FILTERS).list).toEqual([n]);
  });

  it('replaces a changed incident where it is', () => {
    const b2 = { ...b, status: 'acknowledged' as const, updated_at: '2026-11-23T10:05:00Z' };
    const out = mergeIncident([a, b, c], b2, NO_FILTERS);
    expect(out.change).toBe('updated');
    expect(out.list.map((i) => `${i.id}:${i.status}`)).toEqual(['a:open', 'b:acknowledged', 'c:open']);
  });

  it('drops an incident that no longer passes the filters, and ignores one that never did', () => {
    const open = parseFilters('status=open');
    const resolved = { ...b, status: 'resolved' as const, updated_at: '2026-11-23T10:05:00Z' };
    expect(mergeIncident([a, b, c], resolved, open)).toEqual({ list: [a, c], change: 'removed' });
    expect(mergeIncident([a, c], resolved, open)).toEqual({ list: [a, c], change: 'none' });
  });

  it('ignores an event older than the row it would replace', () => {
    const newer = { ...b, status: 'mitigated' as const, updated_at: '2026-11-23T10:09:00Z' };
    const stale = { ...b, status: 'acknowledged' as const, updated_at: '2026-11-23T10:05:00Z' };
    const out = mergeIncident([a, newer, c], stale, NO_FILTERS);
    expect(out.change).toBe('none');
    expect(out.list[1]!.status).toBe('mitigated');
  });

  it('orders equal times by id, descending, as the server does', () => {
    const x = inc('x', '2026-11-23T10:00:02.5Z');
    expect(mergeIncident([a, b, c], x, NO_FILTERS).list.map((i) => i.id)).toEqual(['a', 'x', 'b', 'c']);
  });
});

describe('mergeTimelineEntry', () => {
  const opened: TimelineEntry = { seq: 1, at: 't', actor: 'device:vm', kind: 'opened', bundle_id: 'b', triggered_at: 't' };
  const note: TimelineEntry = { seq: 2, at: 't', actor: 'alice', kind: 'note', text: 'looking' };
  const moved: TimelineEntry = { seq: 3, at: 't', actor: 'alice', kind: 'transition', from: 'open', to: 'acknowledged' };

  it('appends the next entry once', () => {
    const once = mergeTimelineEntry([opened], note);
    expect(once).toEqual({ entries: [opened, note], gap: false, added: true });
    // the page's own write and its live event: one entry
    expect(mergeTimelineEntry(once.entries, note)).toEqual({ entries: [opened, note], gap: false, added: false });
  });

  it('says when entries were missed', () => {
    expect(mergeTimelineEntry([opened], moved).gap).toBe(true);
    const late = mergeTimelineEntry([opened, moved], note);
    expect(late.gap).toBe(false);
    expect(late.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
  });
});
