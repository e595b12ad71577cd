import { describe, expect, it } from 'vitest';
import type { BundleEvent } from './api';
import { classifyEvent, marksNear, parseEventsJsonl, placeEvents } from './events';

const FIRED = 1_795_462_194.861;
const at = (dt: number): string => new Date((FIRED + dt) * 1000).toISOString();

function ev(dt: number, kind: BundleEvent['kind'], source = 'journal', level = 'info'): BundleEvent {
  return { ts: at(dt), kind, source, level, message: `${String(kind)} at ${dt}` };
}

describe('classifyEvent', () => {
  it('sorts events into rows by kind and source', () => {
    expect(classifyEvent({ kind: 'oom_kill', source: 'kmsg' })).toBe('kernel');
    expect(classifyEvent({ kind: 'log', source: 'kmsg' })).toBe('kernel');
    expect(classifyEvent({ kind: 'process_restarted', source: 'process' })).toBe('process');
    expect(classifyEvent({ kind: 'node_missing', source: 'ros' })).toBe('node');
    expect(classifyEvent({ kind: 'thermal', source: 'thermal' })).toBe('thermal');
    expect(classifyEvent({ kind: 'deploy', source: 'file' })).toBe('deploy');
    expect(classifyEvent({ kind: 'log', source: 'api' })).toBe('log');
    expect(classifyEvent({ kind: { custom: 'lidar' }, source: 'socket' })).toBe('other');
  });
});

describe('placeEvents', () => {
  it('puts the trigger at zero, deploys and events at their time relative to it, rows in a fixed order', () => {
    const p = placeEvents({
      firedAt: FIRED,
      triggerSummary: 'error rate rose',
      deploys: [{ id: 'd1', at: FIRED - 4.9, service: 'checkout', version: '2.0.0', verdict: 'regression' }],
      events: [ev(-3.999, 'log', 'api', 'error'), ev(-10, 'oom_kill', 'kmsg', 'critical'), ev(2, 'process_restarted', 'process')],
      occurrences: [FIRED, FIRED + 30],
    });
    expect(p.rows).toEqual(['trigger', 'deploy', 'kernel', 'process', 'log']);
    expect(p.marks.map((m) => [m.row, Math.round(m.x * 1000) / 1000])).toEqual([
      ['kernel', -10],
      ['deploy', -4.9],
      ['log', -3.999],
      ['trigger', 0],
      ['process', 2],
      ['trigger', 30],
    ]);
    const deploy = p.marks.find((m) => m.row === 'deploy')!;
    expect(deploy.title).toBe('deploy checkout 2.0.0');
    expect(deploy.level).toBe('error');
    expect(p.marks.find((m) => m.row === 'log')!.level).toBe('error');
    expect(p.marks.filter((m) => m.title === 'occurrence')).toHaveLength(1);
  });

  it('always has the trigger row, and drops events whose time does not parse', () => {
    const p = placeEvents({ firedAt: FIRED, triggerSummary: 's', events: [{ ...ev(1, 'log'), ts: 'yesterday' }] });
    expect(p.rows).toEqual(['trigger']);
    expect(p.marks).toHaveLength(1);
  });

  it('finds the marks near an instant, nearest first', () => {
    const p = placeEvents({ firedAt: FIRED, triggerSummary: 's', events: [ev(0.2, 'log'), ev(-0.1, 'log'), ev(5, 'log')] });
    expect(marksNear(p.marks, 0, 0.3).map((m) => Math.round(m.x * 10) / 10)).toEqual([0, -0.1, 0.2]);
  });
});

describe('parseEventsJsonl', () => {
  it('reads a bundle events.jsonl and skips bad lines', () => {
    const text = [
      JSON.stringify({ ts: at(0), source: 'api', kind: 'log', level: 'error', message: 'payment failed', fields: { count_after: '15' } }),
      'not json',
      '{"ts":"x"}',
      '',
    ].join('\n');
    const events = parseEventsJsonl(text);
    expect(events).toHaveLength(1);
    expect(events[0]!.fields).toEqual({ count_after: '15' });
  });
});
