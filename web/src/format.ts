// Pure formatting helpers. Nothing here touches the DOM or the clock, so every
// function is unit-tested in format.test.ts.

import type { Condition } from './api';

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses an RFC 3339 timestamp (up to nanosecond precision) into Unix seconds.
 * `Date.parse` only keeps milliseconds and is lenient in engine-specific ways,
 * so the fraction is added separately. Returns NaN when the text is not RFC 3339.
 */
export function parseTimestamp(text: string): number {
  const m = RFC3339.exec(text.trim());
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as [
    string, string, string, string, string, string, string, string | undefined, string,
  ];
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offMin = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6));
    ms -= sign * offMin * 60_000;
  }
  return ms / 1000 + (frac ? Number(`0${frac}`) : 0);
}

function trimNumber(value: number, decimals: number): string {
  // toFixed then drop trailing zeros: 12.50 -> "12.5", 3.00 -> "3".
  const s = value.toFixed(decimals);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/**
 * Time relative to the trigger, mission-clock style: `T-12.3s`, `T+0s`, `T+2s`,
 * and minutes from two minutes on (`T-2m30s`). `decimals` caps the fraction.
 */
export function formatRelative(seconds: number, decimals = 1): string {
  if (!Number.isFinite(seconds)) return '—';
  const factor = 10 ** decimals;
  let rounded = Math.round(Math.abs(seconds) * factor) / factor;
  const sign = seconds < 0 && rounded !== 0 ? '-' : '+';
  if (rounded >= 120) {
    rounded = Math.round(rounded);
    const m = Math.floor(rounded / 60);
    const s = rounded % 60;
    return `T${sign}${m}m${s === 0 ? '' : `${String(s).padStart(2, '0')}s`}`;
  }
  return `T${sign}${trimNumber(rounded, decimals)}s`;
}

/**
 * A tick of a time axis: as `formatRelative`, but once any tick of the axis
 * is two minutes away, every tick from one minute on is in minutes
 * (`T-1m40s`, `T-2m`), so neighbours read alike.
 */
export function formatRelativeTicks(splits: readonly number[]): string[] {
  const minutes = splits.some((s) => Math.abs(s) >= 120);
  return splits.map((s) => {
    if (!minutes || Math.abs(s) < 60 || !Number.isFinite(s)) return formatRelative(s);
    const r = Math.round(Math.abs(s));
    const m = Math.floor(r / 60);
    const sec = r % 60;
    return `T${s < 0 ? '-' : '+'}${m}m${sec === 0 ? '' : `${String(sec).padStart(2, '0')}s`}`;
  });
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Bytes in binary units with three significant digits: `512 B`, `1.5 KiB`, `3.21 GiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const sign = bytes < 0 ? '-' : '';
  let n = Math.abs(bytes);
  let i = 0;
  while (n >= 1024 && i < BYTE_UNITS.length - 1) {
    n /= 1024;
    i += 1;
  }
  const digitsFor = (x: number): number => (x >= 100 ? 0 : x >= 10 ? 1 : 2);
  // Rounding can turn 1023.96 KiB into "1024 KiB": show 1 MiB instead.
  if (i > 0 && i < BYTE_UNITS.length - 1 && Number(n.toFixed(digitsFor(n))) >= 1024) {
    n /= 1024;
    i += 1;
  }
  if (i === 0) return `${sign}${Math.round(n)} B`;
  return `${sign}${trimNumber(n, digitsFor(n))} ${BYTE_UNITS[i]}`;
}

/** A percentage with at most one decimal: `97.5%`, `80%`. */
export function formatPercent(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return `${trimNumber(value, 1)}%`;
}

/** A plain number with at most `decimals` decimals, thousands separated by a thin space. */
export function formatNumber(value: number, decimals = 2): string {
  if (!Number.isFinite(value)) return '—';
  const s = trimNumber(value, decimals);
  const [int = '', frac] = s.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

/**
 * A number with `digits` significant digits for small values (`0.00992`,
 * `0.059`), and as `formatNumber` from 1 on: error rates and p-values are
 * small, and two decimals would print them all as `0.01`.
 */
export function formatSignificant(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs === 0 || abs >= 1) return formatNumber(value, abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
  if (abs < 1e-4) return value.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, 'e');
  const decimals = Math.min(12, digits - 1 - Math.floor(Math.log10(abs)));
  return trimNumber(value, decimals);
}

/** A measured value in its unit, as people read it. */
export function formatValue(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if ((unit === '' || unit === 'count') && Math.abs(value) < 1) return formatSignificant(value);
  switch (unit) {
    case 'percent':
      return formatPercent(value);
    case 'bytes':
      return formatBytes(value);
    case 'count':
    case '':
      return formatNumber(value);
    case 'bool':
      return value >= 0.5 ? 'true' : 'false';
    case 'seconds':
      return `${formatNumber(value, 3)} s`;
    default:
      return `${formatNumber(value)} ${unit}`;
  }
}

/** A threshold condition in words, in the series' unit: `above 80%`, `below 512 MiB`. */
export function formatCondition(condition: Condition, unit: string): string {
  if ('above' in condition) return `above ${formatValue(condition.above, unit)}`;
  if ('below' in condition) return `below ${formatValue(condition.below, unit)}`;
  if ('equals' in condition) return `equal to ${formatValue(condition.equals, unit)}`;
  if ('outside' in condition) {
    const { low, high } = condition.outside;
    return `outside ${formatValue(low, unit)} – ${formatValue(high, unit)}`;
  }
  return `“${condition.is}”`;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Unix seconds as `2026-11-23 10:00:05` (or with milliseconds), in UTC or in
 * the browser's local time zone.
 */
export function formatDateTime(
  unixSeconds: number,
  opts: { utc?: boolean; millis?: boolean } = {},
): string {
  if (!Number.isFinite(unixSeconds)) return '—';
  const d = new Date(Math.floor(unixSeconds * 1000));
  const utc = opts.utc ?? false;
  const parts = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  const [y, mo, day, h, mi, s, ms] = parts as [number, number, number, number, number, number, number];
  const time = `${pad(h)}:${pad(mi)}:${pad(s)}${opts.millis ? `.${pad(ms, 3)}` : ''}`;
  return `${y}-${pad(mo)}-${pad(day)} ${time}${utc ? ' UTC' : ''}`;
}

/** How long ago `unixSeconds` was, coarsely: `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAgo(unixSeconds: number, nowSeconds: number): string {
  if (!Number.isFinite(unixSeconds) || !Number.isFinite(nowSeconds)) return '—';
  const delta = nowSeconds - unixSeconds;
  if (delta < -5) return 'in the future';
  if (delta < 5) return 'just now';
  if (delta < 60) return `${Math.floor(delta)} s ago`;
  if (delta < 3600) return `${Math.floor(delta / 60)} min ago`;
  if (delta < 86_400) return `${Math.floor(delta / 3600)} h ago`;
  return `${Math.floor(delta / 86_400)} d ago`;
}

/** A span of seconds: `850 ms`, `3 s`, `2.5 s`, `63 s`, `1 min 30 s` (minutes from 90 s on). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const abs = Math.abs(seconds);
  if (abs < 1) return `${Math.round(seconds * 1000)} ms`;
  if (abs < 90) return `${trimNumber(seconds, 1)} s`;
  const m = Math.floor(abs / 60);
  const s = Math.round(abs - m * 60);
  return `${seconds < 0 ? '-' : ''}${m} min${s ? ` ${s} s` : ''}`;
}
