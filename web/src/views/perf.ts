// `#/perf?series=200&seconds=300&hz=10`: a hidden page that draws a
// generated incident through the same timeline code as an incident page,
// every lane unfolded, and says how long it took (the browser test prints
// it). The data is made before the clock starts.

import type { BundleEvent, Evidence, SeriesData } from '../api';
import { h } from '../dom';
import { placeEvents } from '../events';
import { mountTimeline } from './timeline';

const T0 = 1_795_000_000;

/** Names spread over the lane groups as a busy robot's would be. */
function names(n: number): Array<{ name: string; unit: string }> {
  const out: Array<{ name: string; unit: string }> = [];
  const add = (name: string, unit: string): void => {
    if (out.length < n) out.push({ name, unit });
  };
  add('cpu.total.busy_pct', 'percent');
  for (let i = 0; i < 16; i += 1) add(`cpu.core${i}.busy_pct`, 'percent');
  for (let g = 0; g < 2; g += 1) {
    add(`gpu.${g}.util_pct`, 'percent');
    add(`gpu.${g}.temp_c`, 'celsius');
    add(`gpu.${g}.throttle_thermal`, 'bool');
  }
  add('memory.used_pct', 'percent');
  for (let i = 0; i < 6; i += 1) add(`thermal.zone${i}.temp_c`, 'celsius');
  for (let i = 0; i < 40; i += 1) add(`topic.camera_${i}.rate_hz`, 'hertz');
  for (let i = 0; i < 20; i += 1) add(`node.planner_${i}.alive`, 'bool');
  add('checkout/error_rate', '');
  add('checkout/p95_latency_ms', '');
  for (let i = 0; i < 30; i += 1) add(`process.worker_${i}.cpu_pct`, 'percent');
  for (let i = 0; out.length < n; i += 1) add(`net.eth${i % 8}.metric_${i}_per_s`, 'per_second');
  return out;
}

/** A generated incident: `count` series of `seconds × hz` samples, the trigger at 80 % of the window. */
export function syntheticIncident(count: number, seconds: number, hz: number): {
  series: SeriesData[];
  evidence: Evidence[];
  events: BundleEvent[];
  firedAt: number;
  start: number;
  end: number;
} {
  const points = Math.round(seconds * hz);
  const start = T0;
  const firedAt = T0 + seconds * 0.8;
  const t = Array.from({ length: points }, (_, i) => start + i / hz);
  const series = names(count).map(({ name, unit }, k) => {
    const v = new Array<number | null>(points);
    for (let i = 0; i < points; i += 1) {
      const x = t[i]! - firedAt;
      const ramp = x > -20 ? Math.min(1, (x + 20) / 20) : 0;
      const wave = Math.sin(i / (15 + (k % 7))) * 0.5 + Math.sin(i / 3.1 + k) * 0.2;
      switch (unit) {
        case 'bool':
          v[i] = x > -5 + (k % 5) && x < 20 ? 0 : 1;
          break;
        case 'percent':
          v[i] = Math.max(0, Math.min(100, 30 + 10 * wave + 60 * ramp));
          break;
        case 'celsius':
          v[i] = 55 + 5 * wave + 35 * ramp;
          break;
        default:
          v[i] = Math.max(0, 30 + 10 * wave - 25 * ramp);
      }
    }
    return { name, unit, t, v };
  });
  const evidence: Evidence[] = [
    {
      series: 'gpu.0.temp_c',
      condition: { above: 85 },
      observed: 90,
      peak: 91,
      since: new Date((firedAt - 4) * 1000).toISOString(),
      samples: 40,
    },
  ];
  const events: BundleEvent[] = [];
  for (let i = 0; i < 60; i += 1) {
    const ts = new Date((start + (seconds * i) / 60) * 1000).toISOString();
    const kinds = ['log', 'process_restarted', 'thermal', 'node_missing'] as const;
    events.push({ ts, source: i % 3 === 0 ? 'kmsg' : 'journal', kind: kinds[i % 4]!, level: i % 5 === 0 ? 'error' : 'info', message: `event ${i}` });
  }
  return { series, evidence, events, firedAt, start, end: start + seconds };
}

/** Renders the timing page into `root`. */
export function renderPerf(root: HTMLElement, query: string): () => void {
  const params = new URLSearchParams(query);
  const count = Math.max(1, Math.min(2000, Number(params.get('series') ?? 200) || 200));
  const seconds = Math.max(1, Math.min(3600, Number(params.get('seconds') ?? 300) || 300));
  const hz = Math.max(0.1, Math.min(100, Number(params.get('hz') ?? 10) || 10));
  const data = syntheticIncident(count, seconds, hz);
  const points = Math.round(seconds * hz);
  const result = h('p', { class: 'perf-result', 'data-testid': 'perf-result', 'aria-live': 'polite' }, 'Drawing…');
  const host = h('div', {});
  root.append(h('h2', {}, 'Timeline timing'), h('p', { class: 'muted' }, `${count} generated series × ${points} points, every lane unfolded.`), result, host);

  let destroyed = false;
  const started = performance.now();
  const timeline = mountTimeline(
    host,
    {
      id: 'perf',
      firedAt: data.firedAt,
      window: { min: data.start - data.firedAt, max: data.end - data.firedAt },
      series: data.series,
      evidence: data.evidence,
      placement: placeEvents({
        firedAt: data.firedAt,
        triggerSummary: 'gpu.0.temp_c above 85',
        events: data.events,
        deploys: [{ id: 'perf', at: data.firedAt - 30, service: 'planner', version: '2.14.1' }],
      }),
      deploys: [{ x: -30, label: 'planner 2.14.1' }],
    },
    { expandAll: true },
  );
  void timeline.drawn().then(async () => {
    if (destroyed) return;
    const ms = Math.round(performance.now() - started);
    await timeline.painted();
    if (destroyed) return;
    const painted = Math.round(performance.now() - started);
    const lanes = host.querySelectorAll('[data-testid="lane"]').length;
    result.textContent = `Drew ${count} series × ${points} points in ${lanes} lanes in ${ms} ms (on screen after ${painted} ms).`;
    Object.assign(result.dataset, { ms: String(ms), painted: String(painted), series: String(count), points: String(points), lanes: String(lanes) });
    (window as unknown as { __rewindPerf?: unknown }).__rewindPerf = { ms, painted, series: count, points, lanes };
  });
  return () => {
    destroyed = true;
    timeline.destroy();
  };
}
