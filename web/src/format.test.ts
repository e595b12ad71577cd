import { describe, expect, it } from 'vitest';
import {
  formatAgo,
  formatBytes,
  formatCondition,
  formatDateTime,
  formatDuration,
  formatNumber,
  formatPercent,
  formatRelative,
  formatRelativeTicks,
  formatValue,
  parseTimestamp,
} from './format';

describe('parseTimestamp', () => {
  it('reads RFC 3339 with milliseconds as Unix seconds', () => {
    expect(parseTimestamp('2026-11-23T10:00:05.100Z')).toBeCloseTo(Date.UTC(2026, 10, 23, 10, 0, 5, 100) / 1000, 9);
  });

  it('keeps precision below a millisecond', () => {
    const a = parseTimestamp('2023-11-14T22:13:20.123456789Z');
    const b = parseTimestamp('2023-11-14T22:13:20.123Z');
    expect(a - b).toBeCloseTo(0.000456789, 6);
    expect(parseTimestamp('2023-11-14T22:13:20Z')).toBe(1_700_000_000);
  });

  it('applies offsets', () => {
    expect(parseTimestamp('2023-11-14T23:13:20+01:00')).toBe(1_700_000_000);
    expect(parseTimestamp('2023-11-14T17:43:20-04:30')).toBe(1_700_000_000);
  });

  it('returns NaN for text that is not RFC 3339', () => {
    expect(parseTimestamp('yesterday')).toBeNaN();
    expect(parseTimestamp('2023-11-14 22:13')).toBeNaN();
    expect(parseTimestamp('2023-11-14T22:13:20')).toBeNaN(); // no zone
  });
});

describe('formatRelative', () => {
  it('writes mission-clock offsets from the trigger', () => {
    expect(formatRelative(-30)).toBe('T-30s');
    expect(formatRelative(-12.34)).toBe('T-12.3s');
    expect(formatRelative(2.5)).toBe('T+2.5s');
    expect(formatRelative(3)).toBe('T+3s');
  });

  it('never shows a negative zero', () => {
    expect(formatRelative(0)).toBe('T+0s');
    expect(formatRelative(-0)).toBe('T+0s');
    expect(formatRelative(-0.01)).toBe('T+0s');
  });

  it('switches to minutes from two minutes on', () => {
    expect(formatRelative(-90)).toBe('T-90s');
    expect(formatRelative(-150)).toBe('T-2m30s');
    expect(formatRelative(-120)).toBe('T-2m');
    expect(formatRelative(125)).toBe('T+2m05s');
  });

  it('honours the requested decimals', () => {
    expect(formatRelative(-1.234, 2)).toBe('T-1.23s');
    expect(formatRelative(Number.NaN)).toBe('—');
  });
});

describe('formatBytes', () => {
  it('uses binary units with three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(48211)).toBe('47.1 KiB');
    expect(formatBytes(3 * 1024 ** 3 + 0.21 * 1024 ** 3)).toBe('3.21 GiB');
    expect(formatBytes(512 * 1024 ** 2)).toBe('512 MiB');
  });

  it('moves to the next unit rather than printing 1024', () => {
    expect(formatBytes(1024 * 1024 - 10)).toBe('1 MiB');
  });

  it('handles negative and invalid values', () => {
    expect(formatBytes(-2048)).toBe('-2 KiB');
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('numbers and units', () => {
  it('formats percentages with at most one decimal', () => {
    expect(formatPercent(97.5)).toBe('97.5%');
    expect(formatPercent(80)).toBe('80%');
    expect(formatPercent(12.345)).toBe('12.3%');
  });

  it('groups thousands', () => {
    expect(formatNumber(1234567.891)).toBe('1\u202f234\u202f567.89');
    expect(formatNumber(-1500)).toBe('-1\u202f500');
    expect(formatNumber(0.5)).toBe('0.5');
  });

  it('formats a value by its unit', () => {
    expect(formatValue(96.1, 'percent')).toBe('96.1%');
    expect(formatValue(2 * 1024 ** 3, 'bytes')).toBe('2 GiB');
    expect(formatValue(1.25, 'count')).toBe('1.25');
    expect(formatValue(42, 'celsius')).toBe('42 celsius');
    expect(formatValue(null, 'percent')).toBe('—');
  });

  it('describes conditions in the series unit', () => {
    expect(formatCondition({ above: 80 }, 'percent')).toBe('above 80%');
    expect(formatCondition({ below: 256 * 1024 ** 2 }, 'bytes')).toBe('below 256 MiB');
    expect(formatCondition({ equals: 0 }, 'count')).toBe('equal to 0');
    expect(formatCondition({ outside: { low: 10, high: 90 } }, 'percent')).toBe('outside 10% – 90%');
    expect(formatCondition({ is: 'throttling' }, 'state')).toBe('“throttling”');
  });
});

describe('dates and durations', () => {
  it('formats UTC date-times, optionally with milliseconds', () => {
    const t = parseTimestamp('2026-11-23T10:00:05.100Z');
    expect(formatDateTime(t, { utc: true })).toBe('2026-11-23 10:00:05 UTC');
    expect(formatDateTime(t, { utc: true, millis: true })).toBe('2026-11-23 10:00:05.100 UTC');
  });

  it('formats local date-times without a zone suffix', () => {
    expect(formatDateTime(1_700_000_000)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  it('says how long ago', () => {
    const now = 1_700_000_000;
    expect(formatAgo(now - 2, now)).toBe('just now');
    expect(formatAgo(now - 42, now)).toBe('42 s ago');
    expect(formatAgo(now - 5 * 60 - 3, now)).toBe('5 min ago');
    expect(formatAgo(now - 3 * 3600, now)).toBe('3 h ago');
    expect(formatAgo(now - 2 * 86_400, now)).toBe('2 d ago');
    expect(formatAgo(now + 60, now)).toBe('in the future');
  });

  it('formats durations', () => {
    expect(formatDuration(0.85)).toBe('850 ms');
    expect(formatDuration(2)).toBe('2 s');
    expect(formatDuration(63)).toBe('63 s');
    expect(formatDuration(90)).toBe('1 min 30 s');
    expect(formatDuration(120)).toBe('2 min');
  });
});

describe('formatRelativeTicks', () => {
  it('keeps seconds on short axes and minutes on long ones', () => {
    expect(formatRelativeTicks([-30, 0, 2.5])).toEqual(['T-30s', 'T+0s', 'T+2.5s']);
    expect(formatRelativeTicks([-160, -100, -40, 0])).toEqual(['T-2m40s', 'T-1m40s', 'T-40s', 'T+0s']);
  });
});
