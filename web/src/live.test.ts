import { describe, expect, it } from 'vitest';
import { LiveStream, backoffMs, parseLiveEvent, streamUrl, type LiveEvent } from './live';

class FakeSocket {
  onopen: ((ev: Event) => unknown) | null = null;
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  close(): void {
    this.closed = true;
  }
  open(): void {
    this.onopen?.(new Event('open'));
  }
  drop(): void {
    this.onclose?.({ code: 1013 } as CloseEvent);
  }
  send(data: unknown): void {
    this.onmessage?.({ data: JSON.stringify(data) } as MessageEvent);
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const stream = new LiveStream({
    url: () => 'ws://x/api/v1/stream',
    connect: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimer: () => undefined,
  });
  return { stream, sockets, timers };
}

describe('backoffMs', () => {
  it('doubles from half a second up to 30 s, with jitter', () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffMs(a, () => 0.5))).toEqual([500, 1000, 2000, 4000, 30000]);
    expect(backoffMs(0, () => 0)).toBe(400);
    expect(backoffMs(0, () => 1)).toBe(600);
  });
});

describe('streamUrl', () => {
  it('follows the page scheme', () => {
    expect(streamUrl({ protocol: 'http:', host: '127.0.0.1:8420' })).toBe('ws://127.0.0.1:8420/api/v1/stream');
    expect(streamUrl({ protocol: 'https:', host: 'rewind.example' })).toBe('wss://rewind.example/api/v1/stream');
  });
});

describe('parseLiveEvent', () => {
  it('takes known events and refuses anything else', () => {
    expect(parseLiveEvent('{"type":"deploy","deploy":{"id":"d"}}')?.type).toBe('deploy');
    expect(parseLiveEvent('{"type":"incident","incident":{}}')).toBeNull();
    expect(parseLiveEvent('{"type":"mystery"}')).toBeNull();
    expect(parseLiveEvent('nope')).toBeNull();
  });
});

describe('LiveStream', () => {
  it('connects once started, delivers events, and tells listeners when it opens', () => {
    const { stream, sockets } = harness();
    const got: LiveEvent[] = [];
    let opens = 0;
    stream.subscribe({ onEvent: (e) => got.push(e), onOpen: () => (opens += 1) });
    expect(sockets).toHaveLength(0); // not before sign-in
    stream.start();
    expect(sockets).toHaveLength(1);
    expect(stream.status).toBe('connecting');
    sockets[0]!.open();
    expect(stream.status).toBe('live');
    expect(opens).toBe(1);
    sockets[0]!.send({ type: 'deploy', deploy: { id: 'd1' } });
    expect(got.map((e) => e.type)).toEqual(['deploy']);
  });

  it('reconnects with growing backoff, and each reopening asks listeners to reload', () => {
    const { stream, sockets, timers } = harness();
    let opens = 0;
    stream.subscribe({ onOpen: () => (opens += 1) });
    stream.start();
    sockets[0]!.drop();
    expect(stream.status).toBe('reconnecting');
    timers[0]!.fn();
    sockets[1]!.drop();
    timers[1]!.fn();
    expect(timers[1]!.ms).toBeGreaterThan(timers[0]!.ms);
    sockets[2]!.open();
    expect(opens).toBe(1);
    expect(stream.status).toBe('live');
    // after a successful open the backoff starts over
    sockets[2]!.drop();
    expect(timers[2]!.ms).toBeLessThanOrEqual(600);
  });

  it('stops: closes the socket and does not come back', () => {
    const { stream, sockets, timers } = harness();
    stream.subscribe({});
    stream.start();
    sockets[0]!.open();
    stream.stop();
    expect(sockets[0]!.closed).toBe(true);
    expect(stream.status).toBe('idle');
    expect(timers).toHaveLength(0);
  });
});
