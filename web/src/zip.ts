// A small zip reader for bundles, in the browser: the central directory,
// stored and deflated members (deflate through the browser's own
// `DecompressionStream('deflate-raw')`), zip64 sizes. That is all a bundle
// uses (bundle-format.md: members are deflated or stored; no encryption, no
// multi-disk archives). Sizes are checked against a limit before inflating.

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Where its local header starts. */
  offset: number;
}

export class ZipError extends Error {
  override readonly name = 'ZipError';
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The largest member this reader inflates (the bundle format's own per-member limit). */
export const MAX_MEMBER_BYTES = 256 * 1024 * 1024;

function u64(view: DataView, at: number): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  return hi * 2 ** 32 + lo;
}

/** The members of a zip, from its central directory. */
export function listZip(data: Uint8Array): ZipEntry[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = data.byteLength;
  if (n < 22) throw new ZipError('not a zip file: too short');
  let eocd = -1;
  for (let i = n - 22; i >= Math.max(0, n - 22 - 0xffff); i -= 1) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('not a zip file: no end of central directory');
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === ZIP64_LOCATOR) {
    const z = u64(view, eocd - 20 + 8);
    if (z + 56 > n || view.getUint32(z, true) !== ZIP64_EOCD) throw new ZipError('broken zip64 directory');
    count = u64(view, z + 32);
    cdOffset = u64(view, z + 48);
  }
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder();
  let p = cdOffset;
  for (let k = 0; k < count; k += 1) {
    if (p + 46 > n || view.getUint32(p, true) !== CENTRAL) throw new ZipError('broken central directory');
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let offset = view.getUint32(p + 42, true);
    const name = decoder.decode(data.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra field: the 0xffffffff values, in order.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) (size = u64(view, q)), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = u64(view, q)), (q += 8);
        if (offset === 0xffffffff) offset = u64(view, q);
      }
      e += 4 + len;
    }
    entries.push({ name, method, compressedSize, size, offset });
    p = end + commentLen;
  }
  return entries;
}

async function inflateRaw(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The uncompressed bytes of one member. */
export async function readEntry(data: Uint8Array, entry: ZipEntry, maxBytes = MAX_MEMBER_BYTES): Promise<Uint8Array> {
  if (entry.size > maxBytes) throw new ZipError(`${entry.name} is ${entry.size} bytes, over the ${maxBytes}-byte limit`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const at = entry.offset;
  if (at + 30 > data.byteLength || view.getUint32(at, true) !== LOCAL) throw new ZipError(`broken local header for ${entry.name}`);
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const raw = data.subarray(start, start + entry.compressedSize);
  if (raw.byteLength !== entry.compressedSize) throw new ZipError(`${entry.name} is cut short`);
  let out: Uint8Array;
  if (entry.method === 0) out = raw;
  else if (entry.method === 8) out = await inflateRaw(raw);
  else throw new ZipError(`${entry.name} uses compression method ${entry.method}, which bundles never use`);
  if (out.byteLength !== entry.size) throw new ZipError(`${entry.name} inflates to ${out.byteLength} bytes, not ${entry.size}`);
  return out;
}

/** One member as UTF-8 text, or `null` when the zip has no member of that name. */
export async function readText(data: Uint8Array, name: string, entries = listZip(data)): Promise<string | null> {
  const entry = entries.find((e) => e.name === name);
  if (!entry) return null;
  return new TextDecoder().decode(await readEntry(data, entry));
}
