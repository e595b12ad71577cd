import { describe, expect, it } from 'vitest';
import { readBundleEvents } from './bundle';
import { ZipError, listZip, readEntry, readText } from './zip';

/** A zip built by hand: each member stored or deflated, the way a bundle is. */
async function deflateRaw(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function makeZip(members: Array<{ name: string; text: string; deflate: boolean }>): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const raw = enc.encode(m.text);
    const data = m.deflate ? await deflateRaw(raw) : raw;
    const name = enc.encode(m.name);
    const local = new Uint8Array(30 + name.length + data.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, m.deflate ? 8 : 0, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, raw.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    local.set(data, 30 + name.length);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, m.deflate ? 8 : 0, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, raw.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const cdSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, members.length, true);
  ev.setUint16(10, members.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

const EVENT = '{"ts":"2026-11-23T19:29:50.861758565Z","source":"api","kind":"log","level":"error","message":"payment 880006 failed"}\n';

describe('the zip reader', async () => {
  const zip = await makeZip([
    { name: 'events.jsonl', text: EVENT.repeat(3), deflate: true },
    { name: 'recording.mcap', text: 'MCAP bytes', deflate: false },
    { name: 'manifest.json', text: '{"format_version":1}', deflate: true },
  ]);

  it('lists the members', () => {
    expect(listZip(zip).map((e) => [e.name, e.method])).toEqual([
      ['events.jsonl', 8],
      ['recording.mcap', 0],
      ['manifest.json', 8],
    ]);
  });

  it('reads stored and deflated members', async () => {
    expect(await readText(zip, 'recording.mcap')).toBe('MCAP bytes');
    expect(await readText(zip, 'manifest.json')).toBe('{"format_version":1}');
    expect(await readText(zip, 'nope')).toBeNull();
  });

  it('reads a bundle’s events', async () => {
    const events = await readBundleEvents(zip);
    expect(events).toHaveLength(3);
    expect(events[0]!.message).toBe('payment 880006 failed');
    expect(await readBundleEvents(await makeZip([{ name: 'manifest.json', text: '{}', deflate: false }]))).toEqual([]);
  });

  it('refuses what is not a zip, and members over the limit', async () => {
    expect(() => listZip(new TextEncoder().encode('PK? no, just text, long enough to look'))).toThrow(ZipError);
    const entry = listZip(zip)[0]!;
    await expect(readEntry(zip, entry, 10)).rejects.toThrow(/limit/);
  });
});
