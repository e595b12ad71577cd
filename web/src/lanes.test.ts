import { describe, expect, it } from 'vitest';
import type { SeriesData } from './api';
import { alignColumns, groupLanes, nearestIndex, prefixOf, shortLabels } from './lanes';

function s(name: string, unit = 'percent'): SeriesData {
  return { name, unit, t: [1, 2], v: [1, 2] };
}

const names = (lanes: Array<{ series: SeriesData[] }>): string[][] => lanes.map((l) => l.series.map((x) => x.name));

describe('groupLanes', () => {
  it('stacks the key metrics in the order a cause travels, and folds the rest', () => {
    const series = [
      s('net.eth0.rx_bytes_per_s', 'bytes_per_second'),
      s('checkout/p95_latency_ms', ''),
      s('topic.scan.rate_hz', 'hertz'),
      s('memory.used_pct'),
      s('cpu.core1.busy_pct'),
      s('gpu.0.util_pct'),
      s('node.planner.alive', 'bool'),
      s('cpu.total.busy_pct'),
      s('thermal.zone0.temp_c', 'celsius'),
      s('checkout/error_rate', ''),
      s('disk.root.used_pct'),
    ];
    const { key, rest } = groupLanes(series, []);
    expect(key.map((l) => l.id)).toEqual(['cpu', 'gpu', 'memory', 'temperature', 'topics', 'nodes', 'errors', 'latency']);
    expect(key.map((l) => l.title)).toEqual(['CPU', 'GPU', 'Memory', 'Temperature', 'Topic rates', 'Node status', 'Error rate', 'Latency']);
    expect(names(key)[0]).toEqual(['cpu.total.busy_pct', 'cpu.core1.busy_pct']);
    expect(rest.map((l) => l.title)).toEqual(['disk', 'net']);
    expect(key.every((l) => l.key) && rest.every((l) => !l.key)).toBe(true);
  });

  it('puts the evidence first in its lane, and gives unknown evidence a lane of its own on top', () => {
    const { key, rest } = groupLanes(
      [s('cpu.core0.busy_pct'), s('cpu.total.busy_pct'), s('cpu.core2.busy_pct'), s('app.queue_depth', 'count'), s('app.other', 'count')],
      ['cpu.core2.busy_pct', 'app.queue_depth'],
    );
    expect(key[0]!.id).toBe('evidence:app.queue_depth');
    expect(key[0]!.evidence).toEqual(['app.queue_depth']);
    expect(names(key)[1]).toEqual(['cpu.core2.busy_pct', 'cpu.total.busy_pct', 'cpu.core0.busy_pct']);
    expect(key[1]!.evidence).toEqual(['cpu.core2.busy_pct']);
    expect(names(rest)).toEqual([['app.other']]);
  });

  it('splits a group by unit and long lanes into parts, numbers in numeric order', () => {
    const cores = Array.from({ length: 14 }, (_, i) => s(`cpu.core${i}.busy_pct`));
    const { key } = groupLanes([...cores, s('gpu.0.util_pct'), s('gpu.0.throttle_thermal', 'bool')], [], 12);
    expect(key.map((l) => l.title)).toEqual(['CPU (1/2)', 'CPU (2/2)', 'GPU · percent', 'GPU · bool']);
    expect(key[0]!.series).toHaveLength(12);
    expect(key[0]!.series[2]!.name).toBe('cpu.core2.busy_pct');
    expect(key[1]!.series.map((x) => x.name)).toEqual(['cpu.core12.busy_pct', 'cpu.core13.busy_pct']);
  });

  it('keeps every series exactly once', () => {
    const series = ['a.x', 'b.y', 'cpu.total.busy_pct', 'memory.used_pct', 'a.z', 'load.avg1', 'load.avg5'].map((n) => s(n));
    const { key, rest } = groupLanes(series, ['b.y']);
    const all = [...key, ...rest].flatMap((l) => l.series.map((x) => x.name)).sort();
    expect(all).toEqual(series.map((x) => x.name).sort());
  });
});

describe('lane helpers', () => {
  it('shortens names to what differs', () => {
    expect(shortLabels(['cpu.total.busy_pct', 'cpu.core0.busy_pct'])).toEqual(['total', 'core0']);
    expect(shortLabels(['checkout/error_rate'])).toEqual(['checkout/error_rate']);
    expect(shortLabels(['a.x', 'b.x'])).toEqual(['a', 'b']);
    expect(shortLabels(['gpu.0.util_pct', 'gpu.1.util_pct'])).toEqual(['gpu.0', 'gpu.1']);
  });

  it('names prefixes', () => {
    expect(prefixOf('net.eth0.rx')).toBe('net');
    expect(prefixOf('checkout/error_rate')).toBe('checkout');
  });

  it('aligns series on the union of their times, spanning where one has no sample', () => {
    const out = alignColumns([
      [[0, 1, 2], [1, null, 3]],
      [[1, 1.5], [10, 11]],
    ]);
    expect(out[0]).toEqual([0, 1, 1.5, 2]);
    expect(out[1]).toEqual([1, null, undefined, 3]);
    expect(out[2]).toEqual([undefined, 10, 11, undefined]);
    const same = alignColumns([
      [[0, 1], [1, 2]],
      [[0, 1], [3, 4]],
    ]);
    expect(same).toEqual([[0, 1], [1, 2], [3, 4]]);
  });

  it('finds the nearest sample', () => {
    expect(nearestIndex([0, 1, 2, 3], 1.4)).toBe(1);
    expect(nearestIndex([0, 1, 2, 3], 1.6)).toBe(2);
    expect(nearestIndex([0, 1, 2, 3], -5)).toBe(0);
    expect(nearestIndex([0, 1, 2, 3], 9)).toBe(3);
    expect(nearestIndex([], 1)).toBe(-1);
  });
});
