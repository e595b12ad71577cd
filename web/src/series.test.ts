import { describe, expect, it } from 'vitest';

import type { IncidentDetail, SeriesData } from './api';
import { partitionSeries } from './series';

function series(name: string): SeriesData {
  return { name, unit: 'count', t: [1], v: [1] };
}

function detail(names: string[], evidence: string[]): IncidentDetail {
  return {
    series: names.map(series),
    trigger: {
      evidence: evidence.map((s) => ({ series: s, condition: { above: 1 }, observed: 2, peak: 2, since: 'x', samples: 1 })),
    },
  } as unknown as IncidentDetail;
}

describe('partitionSeries', () => {
  it('puts the evidence first, then headline series, and folds the rest in name order', () => {
    const d = detail(
      ['net.eth0.rx_bytes_per_s', 'load.avg1', 'disk.root.used_pct', 'cpu.total.busy_pct', 'memory.used_pct', 'cpu.core0.busy_pct'],
      ['disk.root.used_pct'],
    );
    const { primary, rest } = partitionSeries(d);
    expect(primary.map((s) => s.name)).toEqual(['disk.root.used_pct', 'cpu.total.busy_pct', 'memory.used_pct', 'load.avg1']);
    expect(rest.map((s) => s.name)).toEqual(['cpu.core0.busy_pct', 'net.eth0.rx_bytes_per_s']);
  });

  it('caps the unfolded charts but never folds evidence', () => {
    const names = ['a', 'b', 'c', 'cpu.total.busy_pct', 'memory.used_pct'];
    const { primary, rest } = partitionSeries(detail(names, ['a', 'b', 'c']), 4);
    expect(primary.map((s) => s.name)).toEqual(['a', 'b', 'c', 'cpu.total.busy_pct']);
    expect(rest.map((s) => s.name)).toEqual(['memory.used_pct']);
    const all = partitionSeries(detail(names, ['a', 'b', 'c']), 2);
    expect(all.primary).toHaveLength(3);
  });

  it('keeps every series exactly once', () => {
    const names = Array.from({ length: 50 }, (_, i) => `s.${i}`).concat(['load.avg1']);
    const { primary, rest } = partitionSeries(detail(names, ['s.7']));
    expect(primary.length + rest.length).toBe(names.length);
    expect(new Set([...primary, ...rest].map((s) => s.name)).size).toBe(names.length);
  });
});
