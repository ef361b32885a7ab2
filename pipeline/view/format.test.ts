import { describe, expect, it } from 'vitest';
import {
  firstLine,
  formatBytes,
  formatCount,
  formatDuration,
  formatProgress,
  percent,
  truncate,
} from './format.ts';

describe('format', () => {
  it('formats bytes in decimal units, never printing "1000.0 KB"', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1234)).toBe('1.2 KB'); // 1234 / 1000
    expect(formatBytes(999_949)).toBe('999.9 KB');
    expect(formatBytes(999_950)).toBe('1.0 MB'); // would round to 1000.0 KB
    expect(formatBytes(6_200_000_000)).toBe('6.2 GB');
  });

  it('formats durations by magnitude', () => {
    expect(formatDuration(34)).toBe('34 ms');
    expect(formatDuration(1234)).toBe('1.2 s');
    expect(formatDuration(125_000)).toBe('2m 05s'); // 125 s = 2 min 5 s
    expect(formatDuration(3_720_000)).toBe('1h 02m'); // 3720 s = 1 h 2 min
  });

  it('formats counts, progress and percentages', () => {
    expect(formatCount(10_210)).toBe('10,210');
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatProgress(3_300_000_000, 6_200_000_000, 'bytes')).toBe('3.3 GB/6.2 GB');
    expect(formatProgress(120, 5000, 'rows')).toBe('120/5,000 rows');
    expect(percent(3.3, 6.2)).toBe(53); // 53.2 % floored
    expect(percent(5, 0)).toBe(0);
    expect(percent(7, 5)).toBe(100);
  });

  it('cuts text to one first line with an ellipsis', () => {
    expect(firstLine('\n  Error: boom\n    at x')).toBe('Error: boom');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });
});
