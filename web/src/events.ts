// The events lane: where the trigger, the deploys and the bundle's events
// (kernel, processes, nodes, thermal, logs) sit on the timeline. One row per
// kind of event, only the rows that have something, in a fixed order so the
// lane reads the same on every incident.

import type { BundleEvent } from './api';
import { parseTimestamp } from './format';

export const EVENT_ROWS = ['trigger', 'deploy', 'kernel', 'process', 'node', 'thermal', 'log', 'other'] as const;
export type EventRow = (typeof EVENT_ROWS)[number];

export const ROW_LABELS: Record<EventRow, string> = {
  trigger: 'Trigger',
  deploy: 'Deploys',
  kernel: 'Kernel',
  process: 'Processes',
  node: 'Nodes',
  thermal: 'Thermal',
  log: 'Logs',
  other: 'Other',
};

export type EventLevel = 'error' | 'warning' | 'info';

export interface EventMark {
  /** Seconds relative to the trigger. */
  x: number;
  row: EventRow;
  level: EventLevel;
  /** Short: `trigger`, `deploy checkout 2.0.0`, `oom_kill`, `log`. */
  title: string;
  /** The message or a sentence. */
  detail: string;
  source: string;
}

/** A deploy to show: recorded deploys linked to the incident or named by its trigger. */
export interface DeployMarkInput {
  id: string;
  at: number;
  service: string;
  version: string;
  verdict?: string | undefined;
}

export function kindName(kind: BundleEvent['kind']): string {
  return typeof kind === 'string' ? kind : `custom:${kind.custom}`;
}

/** Which row an event of the bundle goes in. */
export function classifyEvent(e: Pick<BundleEvent, 'kind' | 'source'>): EventRow {
  const kind = kindName(e.kind);
  switch (kind) {
    case 'deploy':
      return 'deploy';
    case 'oom_kill':
    case 'io_error':
      return 'kernel';
    case 'process_missing':
    case 'process_restarted':
      return 'process';
    case 'node_missing':
    case 'node_seen':
      return 'node';
    case 'thermal':
      return 'thermal';
    case 'log':
      return e.source === 'kmsg' ? 'kernel' : 'log';
    default:
      return e.source === 'kmsg' ? 'kernel' : 'other';
  }
}

export function eventLevel(level: string): EventLevel {
  switch (level) {
    case 'critical':
    case 'error':
    case 'emerg':
    case 'alert':
    case 'crit':
    case 'err':
      return 'error';
    case 'warning':
    case 'warn':
      return 'warning';
    default:
      return 'info';
  }
}

export interface PlaceInput {
  /** The trigger's `fired_at`, Unix seconds: time zero. */
  firedAt: number;
  triggerSummary: string;
  /** Later triggers that joined the incident (occurrences), Unix seconds. */
  occurrences?: number[];
  deploys?: DeployMarkInput[];
  events?: BundleEvent[];
}

export interface Placement {
  /** The rows that have marks, in `EVENT_ROWS` order (the trigger row always). */
  rows: EventRow[];
  /** Sorted by time. */
  marks: EventMark[];
}

/** Places everything on the events lane. Events whose time does not parse are left out. */
export function placeEvents(input: PlaceInput): Placement {
  const { firedAt } = input;
  const marks: EventMark[] = [
    { x: 0, row: 'trigger', level: 'error', title: 'trigger', detail: input.triggerSummary, source: 'rule' },
  ];
  for (const t of input.occurrences ?? []) {
    if (!Number.isFinite(t) || Math.abs(t - firedAt) < 1e-6) continue;
    marks.push({ x: t - firedAt, row: 'trigger', level: 'warning', title: 'occurrence', detail: 'the rule tripped again', source: 'rule' });
  }
  const seenDeploys = new Set<string>();
  for (const d of input.deploys ?? []) {
    if (!Number.isFinite(d.at) || seenDeploys.has(d.id)) continue;
    seenDeploys.add(d.id);
    marks.push({
      x: d.at - firedAt,
      row: 'deploy',
      level: d.verdict === 'regression' ? 'error' : 'info',
      title: `deploy ${d.service} ${d.version}`,
      detail: d.verdict ? `verdict: ${d.verdict.replace(/_/g, ' ')}` : 'deploy recorded',
      source: 'deploys',
    });
  }
  for (const e of input.events ?? []) {
    const t = parseTimestamp(e.ts);
    if (!Number.isFinite(t)) continue;
    marks.push({
      x: t - firedAt,
      row: classifyEvent(e),
      level: eventLevel(e.level),
      title: kindName(e.kind).replace(/_/g, ' '),
      detail: e.message,
      source: e.source,
    });
  }
  marks.sort((a, b) => a.x - b.x);
  const used = new Set(marks.map((m) => m.row));
  return { rows: EVENT_ROWS.filter((r) => used.has(r)), marks };
}

/** The marks within `tolerance` seconds of `x`, nearest first. */
export function marksNear(marks: readonly EventMark[], x: number, tolerance: number): EventMark[] {
  return marks
    .filter((m) => Math.abs(m.x - x) <= tolerance)
    .sort((a, b) => Math.abs(a.x - x) - Math.abs(b.x - x));
}

/** The events of a bundle's `events.jsonl` text; bad lines are skipped. */
export function parseEventsJsonl(text: string, limit = 100_000): BundleEvent[] {
  const out: BundleEvent[] = [];
  for (const line of text.split('\n')) {
    if (out.length >= limit) break;
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as Partial<BundleEvent>;
      if (typeof v.ts === 'string' && typeof v.message === 'string' && v.kind !== undefined) {
        out.push({
          ts: v.ts,
          source: typeof v.source === 'string' ? v.source : '',
          kind: v.kind,
          level: typeof v.level === 'string' ? v.level : 'info',
          message: v.message,
          ...(v.fields ? { fields: v.fields } : {}),
        });
      }
    } catch {
      // skip the line
    }
  }
  return out;
}
