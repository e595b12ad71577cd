// The dashboard's live events: one WebSocket to `/api/v1/stream` for the
// whole page, shared by the views. The upgrade carries the session cookie
// (a browser cannot set headers on a WebSocket). The server neither stores
// nor replays events, so after every (re)connection the views load their
// data again; when the socket drops it is reopened with exponential backoff.
// No polling anywhere.

import type { DeployCheck, Deploy } from './deploys';
import type { IncidentSummary, TimelineEntry } from './api';

/** One frame of `/api/v1/stream` (`rewind_model::LiveEvent`); `samples` and `device` are not used yet. */
export type LiveEvent =
  | { type: 'incident'; incident: IncidentSummary; entry: TimelineEntry }
  | { type: 'deploy'; deploy: Deploy }
  | { type: 'check'; check: DeployCheck }
  | { type: 'device'; device: unknown }
  | { type: 'samples'; device_id: string; samples: unknown[] };

export type LiveStatus = 'idle' | 'connecting' | 'live' | 'reconnecting';

export interface LiveListener {
  /** Every event. */
  onEvent?(event: LiveEvent): void;
  /**
   * The socket opened. Events sent before were missed: load again. Not
   * called for a listener added while the socket is already open.
   */
  onOpen?(): void;
}

/** Backoff before the `attempt`-th retry (0-based): 0.5 s doubling to 30 s, ±20 % jitter. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, Math.min(attempt, 16)));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** `ws://host/api/v1/stream` (or `wss:`) for a page at `location`. */
export function streamUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/stream`;
}

/** Parses one text frame; `null` for anything that is not a known event. */
export function parseLiveEvent(text: string): LiveEvent | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const type = (v as { type?: unknown }).type;
  switch (type) {
    case 'incident':
      return 'incident' in v && 'entry' in v ? (v as LiveEvent) : null;
    case 'deploy':
      return 'deploy' in v ? (v as LiveEvent) : null;
    case 'check':
      return 'check' in v ? (v as LiveEvent) : null;
    case 'device':
    case 'samples':
      return v as LiveEvent;
    default:
      return null;
  }
}

type SocketLike = Pick<WebSocket, 'close'> & {
  onopen: ((ev: Event) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
};

export interface LiveOptions {
  url: () => string;
  /** Makes the socket (tests pass a fake). */
  connect?: (url: string) => SocketLike;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** One shared, self-healing connection. It connects while it has listeners and `start` was called. */
export class LiveStream {
  private socket: SocketLike | null = null;
  private listeners = new Set<LiveListener>();
  private statusListeners = new Set<(s: LiveStatus) => void>();
  private attempt = 0;
  private timer: unknown = null;
  private started = false;
  private current: LiveStatus = 'idle';

  constructor(private readonly opts: LiveOptions) {}

  get status(): LiveStatus {
    return this.current;
  }

  /** Allows connecting (after sign-in). */
  start(): void {
    this.started = true;
    this.ensure();
  }

  /** Closes the socket and stops reconnecting (sign-out, sign-in view). */
  stop(): void {
    this.started = false;
    this.teardown();
    this.setStatus('idle');
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    this.ensure();
    return () => {
      this.listeners.delete(listener);
    };
  }

  onStatus(fn: (s: LiveStatus) => void): () => void {
    this.statusListeners.add(fn);
    fn(this.current);
    return () => {
      this.statusListeners.delete(fn);
    };
  }

  private setStatus(s: LiveStatus): void {
    if (s === this.current) return;
    this.current = s;
    for (const fn of this.statusListeners) fn(s);
  }

  private ensure(): void {
    if (!this.started || this.socket || this.timer !== null) return;
    this.open();
  }

  private teardown(): void {
    if (this.timer !== null) {
      (this.opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)))(this.timer);
      this.timer = null;
    }
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onopen = s.onclose = s.onerror = s.onmessage = null;
      try {
        s.close(1000, 'page closed');
      } catch {
        // already closed
      }
    }
  }

  private open(): void {
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const connect = this.opts.connect ?? ((url: string) => new WebSocket(url) as SocketLike);
    let socket: SocketLike;
    try {
      socket = connect(this.opts.url());
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setStatus('live');
      for (const l of [...this.listeners]) l.onOpen?.();
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      const event = parseLiveEvent(ev.data);
      if (!event) return;
      for (const l of [...this.listeners]) {
        try {
          l.onEvent?.(event);
        } catch (e) {
          console.warn('live event listener failed', e);
        }
      }
    };
    socket.onerror = () => {
      // onclose follows and schedules the retry.
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.retry();
    };
  }

  private retry(): void {
    if (!this.started) return;
    this.setStatus('reconnecting');
    const delay = backoffMs(this.attempt);
    this.attempt += 1;
    const set = this.opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.timer = set(() => {
      this.timer = null;
      if (this.started && !this.socket) this.open();
    }, delay);
  }
}

/** The page's connection. */
export const live = new LiveStream({
  url: () => streamUrl(window.location),
});
