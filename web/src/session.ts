// Who is signed in, for the views that offer writes: a viewer's token may
// read but not move incidents or write notes, so those controls say so
// instead of failing. The server decides either way.

import type { SessionInfo } from './api';

let current: SessionInfo | null = null;
const listeners = new Set<(s: SessionInfo | null) => void>();

export function setSession(info: SessionInfo | null): void {
  current = info;
  for (const fn of [...listeners]) fn(info);
}

export function session(): SessionInfo | null {
  return current;
}

/** Whether the session may move incidents and write notes (unknown: let the server answer). */
export function canRespond(info: SessionInfo | null = current): boolean {
  return info === null || info.role === 'responder' || info.role === 'admin';
}

export function onSession(fn: (s: SessionInfo | null) => void): () => void {
  listeners.add(fn);
  return () => {
    listeners.delete(fn);
  };
}
