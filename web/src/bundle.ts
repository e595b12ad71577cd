// Reading what the incident detail does not carry from the bundle itself:
// today its events (`events.jsonl`). The same reader will take a dropped
// bundle file (part 2).

import { fetchBundle, type BundleEvent, type CallOptions } from './api';
import { parseEventsJsonl } from './events';
import { listZip, readText } from './zip';

/** Bundles larger than this are not downloaded just for their events (the page offers it instead). */
export const AUTO_FETCH_MAX_BYTES = 16 * 1024 * 1024;

/** The events of a bundle's bytes. */
export async function readBundleEvents(bytes: ArrayBuffer | Uint8Array): Promise<BundleEvent[]> {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const text = await readText(data, 'events.jsonl', listZip(data));
  return text === null ? [] : parseEventsJsonl(text);
}

/** Downloads bundle `bundleId` and reads its events. */
export async function loadBundleEvents(bundleId: string, opts: CallOptions = {}): Promise<BundleEvent[]> {
  return readBundleEvents(await fetchBundle(bundleId, opts));
}
