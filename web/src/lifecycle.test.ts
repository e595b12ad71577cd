import { describe, expect, it } from 'vitest';
import { ApiError, parseApiError, type TimelineEntry } from './api';
import {
  allowedFromError,
  allowedTransitions,
  describeEntry,
  isActive,
  statusFromError,
  statusFromTimeline,
  transitionLabel,
} from './lifecycle';

describe('allowed transitions', () => {
  it('follow the documented table', () => {
    expect(allowedTransitions('open')).toEqual(['acknowledged', 'mitigated', 'resolved']);
    expect(allowedTransitions('acknowledged')).toEqual(['mitigated', 'resolved']);
    expect(allowedTransitions('mitigated')).toEqual(['acknowledged', 'resolved']);
    expect(allowedTransitions('resolved')).toEqual([]);
    expect(isActive('resolved')).toBe(false);
    expect(isActive('mitigated')).toBe(true);
  });

  it('take the server’s word from a refused move', () => {
    const err = parseApiError(
      409,
      'Conflict',
      JSON.stringify({
        error: {
          code: 'invalid_transition',
          message: 'an incident cannot move from acknowledged to open',
          hint: 'from acknowledged it may move to: mitigated, resolved',
          details: { from: 'acknowledged', to: 'open', allowed: ['resolved', 'mitigated', 'closed'] },
        },
      }),
    );
    expect(err.details).toEqual({ from: 'acknowledged', to: 'open', allowed: ['resolved', 'mitigated', 'closed'] });
    expect(allowedFromError(err)).toEqual(['mitigated', 'resolved']);
    expect(statusFromError(err)).toBe('acknowledged');
    expect(allowedFromError(new ApiError('immutable', 'm', undefined, 409))).toBeNull();
    expect(allowedFromError(new Error('x'))).toBeNull();
  });

  it('name the buttons', () => {
    expect(transitionLabel('acknowledged', 'open')).toBe('Acknowledge');
    expect(transitionLabel('acknowledged', 'mitigated')).toBe('Back to acknowledged');
    expect(transitionLabel('resolved')).toBe('Resolve');
  });
});

describe('the timeline', () => {
  const entries: TimelineEntry[] = [
    { seq: 3, at: 't', actor: 'bob', kind: 'transition', from: 'acknowledged', to: 'mitigated', reason: 'restarted' },
    { seq: 1, at: 't', actor: 'device:vm', kind: 'opened', bundle_id: '01a209e2-d06e-7668-b73a-6100e936a83e', triggered_at: 't' },
    { seq: 2, at: 't', actor: 'alice', kind: 'transition', from: 'open', to: 'acknowledged' },
  ];

  it('replays to the status of its last move', () => {
    expect(statusFromTimeline(entries)).toBe('mitigated');
    expect(statusFromTimeline(entries.slice(1, 2))).toBe('open');
  });

  it('reads as words', () => {
    expect(describeEntry(entries[0]!)).toEqual({ title: 'moved it acknowledged → mitigated', detail: 'restarted' });
    expect(describeEntry({ seq: 4, at: 't', actor: 'a', kind: 'note', text: 'hi' })).toEqual({ title: 'wrote a note', detail: 'hi' });
    expect(describeEntry({ seq: 5, at: 't', actor: 'a', kind: 'deploy', deploy_id: 'd', service: 'checkout', version: '2.0.0' }).title).toBe(
      'linked deploy checkout 2.0.0',
    );
  });
});
