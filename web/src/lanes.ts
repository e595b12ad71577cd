// How an incident's series become the lanes of its correlation timeline.
//
// An agent records ~100 series; one chart each hides the few that explain
// the incident. The timeline stacks lanes instead: the key metrics first, in
// the order a cause usually travels (CPU, GPU, memory, temperature, topic
// rates, node status, error rate, latency, then load, pressure and
// processes), each lane holding every series of its group that shares a unit;
// then the rest, folded, one lane per name prefix and unit. Evidence series
// are always in a key lane, and drawn first and thickest in theirs.

import type { SeriesData } from './api';

export interface Lane {
  /** Stable id: `cpu`, `memory:bytes`, `rest:net:per_second:2`, `evidence:<series>`. */
  id: string;
  title: string;
  unit: string;
  /** Key lanes are shown at once; the rest wait, folded. */
  key: boolean;
  /** Drawn in this order; evidence first. */
  series: SeriesData[];
  /** Names of the evidence series in this lane. */
  evidence: string[];
}

interface Group {
  id: string;
  title: string;
  match: RegExp[];
}

/** The key groups, in the order their lanes are stacked. */
export const KEY_GROUPS: readonly Group[] = [
  { id: 'cpu', title: 'CPU', match: [/^cpu\.total\.busy_pct$/, /^cpu\.core\d+\.busy_pct$/, /^jetson\.cpu\d*\.(util|busy)_pct$/] },
  {
    id: 'gpu',
    title: 'GPU',
    match: [/^gpu\.\d+\.util_pct$/, /^jetson\.gpu\.util_pct$/, /^gpu\.\d+\.memory_util_pct$/, /^gpu\.\d+\.throttle_[a-z_]+$/],
  },
  { id: 'memory', title: 'Memory', match: [/^memory\.used_pct$/, /^pressure\.memory\.some_avg10$/] },
  {
    id: 'temperature',
    title: 'Temperature',
    match: [/^thermal\.[^.]+\.temp_c$/, /^gpu\.\d+\.temp_c$/, /^jetson\.temp\.[a-z0-9_]+_c$/, /(^|[./_])temp(_c)?$/],
  },
  { id: 'topics', title: 'Topic rates', match: [/^topic\..+\.rate_hz$/] },
  { id: 'nodes', title: 'Node status', match: [/^node\..+\.alive$/] },
  { id: 'errors', title: 'Error rate', match: [/(^|[./_])error_(rate|ratio)$/] },
  { id: 'latency', title: 'Latency', match: [/latency/, /(^|[./_])p(50|90|95|99)(_|$)/] },
  { id: 'load', title: 'Load', match: [/^load\.avg1$/] },
  { id: 'pressure', title: 'Pressure', match: [/^pressure\.(cpu|io)\.some_avg10$/] },
  { id: 'processes', title: 'Processes', match: [/^process\.[^.]+\.cpu_pct$/, /^process\.[^.]+\.rss_bytes$/] },
];

/** More series than this in one lane are split over several. */
export const MAX_PER_LANE = 12;

/** Names compared with their numbers as numbers: `core2` before `core10`. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function keyRank(name: string): { group: number; pattern: number } | null {
  for (let g = 0; g < KEY_GROUPS.length; g += 1) {
    const p = KEY_GROUPS[g]!.match.findIndex((re) => re.test(name));
    if (p >= 0) return { group: g, pattern: p };
  }
  return null;
}

/** The first segment of a series name: `net` for `net.eth0.rx_bytes_per_s`, `checkout` for `checkout/error_rate`. */
export function prefixOf(name: string): string {
  const m = /^[^./]+/.exec(name);
  return m ? m[0] : name;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function unitSuffix(unit: string): string {
  return unit === '' ? 'no unit' : unit.replace(/_/g, ' ');
}

/**
 * Groups an incident's series into lanes: `key` lanes first (the evidence
 * always among them), then the `rest`, folded. Every series is in exactly one
 * lane.
 */
export function groupLanes(
  series: readonly SeriesData[],
  evidenceNames: readonly string[],
  maxPerLane = MAX_PER_LANE,
): { key: Lane[]; rest: Lane[] } {
  const evidence = new Set(evidenceNames);
  const keyBuckets = new Map<string, { group: number; unit: string; items: Array<{ s: SeriesData; pattern: number }> }>();
  const loose: SeriesData[] = [];
  const ownLanes: Lane[] = [];

  for (const s of series) {
    const rank = keyRank(s.name);
    if (rank) {
      const id = `${KEY_GROUPS[rank.group]!.id}\u0000${s.unit}`;
      let b = keyBuckets.get(id);
      if (!b) keyBuckets.set(id, (b = { group: rank.group, unit: s.unit, items: [] }));
      b.items.push({ s, pattern: rank.pattern });
    } else if (evidence.has(s.name)) {
      // Evidence the groups do not know gets a lane of its own, on top.
      ownLanes.push({ id: `evidence:${s.name}`, title: s.name, unit: s.unit, key: true, series: [s], evidence: [s.name] });
    } else {
      loose.push(s);
    }
  }

  const unitsPerGroup = new Map<number, number>();
  for (const b of keyBuckets.values()) unitsPerGroup.set(b.group, (unitsPerGroup.get(b.group) ?? 0) + 1);

  const buckets = [...keyBuckets.values()].map((b) => {
    const items = b.items.sort(
      (x, y) =>
        Number(evidence.has(y.s.name)) - Number(evidence.has(x.s.name)) ||
        x.pattern - y.pattern ||
        naturalCompare(x.s.name, y.s.name),
    );
    return { ...b, items, hasEvidence: items.some((i) => evidence.has(i.s.name)), first: Math.min(...items.map((i) => i.pattern)) };
  });
  buckets.sort(
    (a, b) => a.group - b.group || Number(b.hasEvidence) - Number(a.hasEvidence) || a.first - b.first || a.unit.localeCompare(b.unit),
  );

  const key: Lane[] = [...ownLanes];
  for (const b of buckets) {
    const group = KEY_GROUPS[b.group]!;
    const split = (unitsPerGroup.get(b.group) ?? 1) > 1;
    const parts = chunk(b.items.map((i) => i.s), maxPerLane);
    parts.forEach((part, i) => {
      const base = split ? `${group.id}:${b.unit || 'none'}` : group.id;
      key.push({
        id: i === 0 ? base : `${base}:${i + 1}`,
        title: `${group.title}${split ? ` · ${unitSuffix(b.unit)}` : ''}${parts.length > 1 ? ` (${i + 1}/${parts.length})` : ''}`,
        unit: b.unit,
        key: true,
        series: part,
        evidence: part.filter((s) => evidence.has(s.name)).map((s) => s.name),
      });
    });
  }

  // The rest: by prefix, then unit, in name order.
  const byPrefix = new Map<string, Map<string, SeriesData[]>>();
  for (const s of loose) {
    const p = prefixOf(s.name);
    let units = byPrefix.get(p);
    if (!units) byPrefix.set(p, (units = new Map()));
    let list = units.get(s.unit);
    if (!list) units.set(s.unit, (list = []));
    list.push(s);
  }
  const rest: Lane[] = [];
  for (const p of [...byPrefix.keys()].sort(naturalCompare)) {
    const units = byPrefix.get(p)!;
    const unitNames = [...units.keys()].sort();
    for (const unit of unitNames) {
      const parts = chunk(units.get(unit)!.sort((a, b) => naturalCompare(a.name, b.name)), maxPerLane);
      parts.forEach((part, i) => {
        rest.push({
          id: `rest:${p}:${unit || 'none'}${parts.length > 1 ? `:${i + 1}` : ''}`,
          title: `${p}${unitNames.length > 1 ? ` · ${unitSuffix(unit)}` : ''}${parts.length > 1 ? ` (${i + 1}/${parts.length})` : ''}`,
          unit,
          key: false,
          series: part,
          evidence: [],
        });
      });
    }
  }
  return { key, rest };
}

/**
 * Short names for the series of one lane: what their names do not share
 * (`total`, `core0` for `cpu.total.busy_pct`, `cpu.core0.busy_pct`). A lone
 * series keeps its whole name.
 */
export function shortLabels(names: readonly string[]): string[] {
  if (names.length < 2) return [...names];
  const parts = names.map((n) => n.split(/(?<=[./])/));
  const minLen = Math.min(...parts.map((p) => p.length));
  let head = 0;
  while (head < minLen - 1 && parts.every((p) => p[head] === parts[0]![head])) head += 1;
  let tail = 0;
  while (
    tail < minLen - head - 1 &&
    parts.every((p) => p[p.length - 1 - tail] === parts[0]![parts[0]!.length - 1 - tail])
  ) {
    tail += 1;
  }
  return parts.map((p, i) => {
    let from = head;
    let label = p.slice(from, p.length - tail).join('').replace(/[./]$/, '');
    // A bare number says little (`0`, `1` of gpu.0, gpu.1): keep the segment before it.
    while (/^\d+$/.test(label) && from > 0) {
      from -= 1;
      label = p.slice(from, p.length - tail).join('').replace(/[./]$/, '');
    }
    return label || names[i]!;
  });
}

/**
 * Several series as one uPlot table: the union of their times (sorted), and
 * per series its values there, `undefined` where it has no sample at that
 * time (drawn across) and `null` where it has a gap (drawn as a gap).
 * Inputs must be sorted by time, as `toColumns` gives them.
 */
export function alignColumns(
  columns: ReadonlyArray<readonly [readonly number[], ReadonlyArray<number | null>]>,
): [number[], ...Array<Array<number | null | undefined>>] {
  if (columns.length === 0) return [[]];
  const first = columns[0]![0];
  const same = columns.every(
    ([xs]) => xs === first || (xs.length === first.length && xs.every((x, i) => x === first[i])),
  );
  // The usual case (one sampler, one clock): the columns as they are, no copies.
  if (same) return [first as number[], ...columns.map(([, ys]) => ys as Array<number | null>)];
  let total = 0;
  for (const [xs] of columns) total += xs.length;
  const all = new Float64Array(total);
  let k = 0;
  for (const [xs] of columns) for (const x of xs) all[k++] = x;
  all.sort();
  const xsOut: number[] = [];
  for (let i = 0; i < all.length; i += 1) if (i === 0 || all[i] !== all[i - 1]) xsOut.push(all[i]!);
  const out: [number[], ...Array<Array<number | null | undefined>>] = [xsOut];
  for (const [xs, ys] of columns) {
    const col = new Array<number | null | undefined>(xsOut.length);
    let j = 0;
    for (let i = 0; i < xs.length; i += 1) {
      while (xsOut[j]! < xs[i]!) j += 1;
      col[j] = ys[i] ?? null;
    }
    out.push(col);
  }
  return out;
}

/** Index of the sample nearest to `x` in sorted `xs` (-1 when empty). */
export function nearestIndex(xs: ArrayLike<number>, x: number): number {
  const n = xs.length;
  if (n === 0) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1]! - x) <= Math.abs(xs[lo]! - x)) return lo - 1;
  return lo;
}
