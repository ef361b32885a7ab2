import { describe, expect, it } from 'vitest';
import { combineVersions } from './hash.ts';
import {
  addDays,
  dayInZone,
  dayOffset,
  daysBetween,
  fromUnpartitioned,
  hourlyToDaily,
  identity,
  isDayKey,
  partitionKeys,
  daily,
  hourly,
  validatePartitionKey,
} from './partitions.ts';

describe('partitions', () => {
  it('day arithmetic crosses months, years and DST', () => {
    expect(addDays('2025-10-26', 1)).toBe('2025-10-27');
    expect(addDays('2025-03-01', -1)).toBe('2025-02-28');
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(daysBetween('2025-11-01', '2025-11-07')).toHaveLength(7);
  });

  it('validates keys', () => {
    expect(isDayKey('2025-02-30')).toBe(false);
    expect(validatePartitionKey(daily(), '2025-11-04')).toBeNull();
    expect(validatePartitionKey(daily(), '2025-11-4')).toMatch(/not a day key/);
    expect(validatePartitionKey(hourly(), '2025-11-04T24')).toMatch(/not an hour key/);
    expect(validatePartitionKey(undefined, 'all')).toBeNull();
  });

  it('maps hourly→daily to the day’s 24 hours, day offsets, identity and unpartitioned', () => {
    const hours = hourlyToDaily().upstream('2025-11-04');
    expect(hours).toHaveLength(24);
    expect(hours[0]).toBe('2025-11-04T00');
    expect(hours[23]).toBe('2025-11-04T23');
    expect(dayOffset(-7).upstream('2025-11-04')).toEqual(['2025-10-28']);
    expect(identity().upstream('2025-11-04')).toEqual(['2025-11-04']);
    expect(fromUnpartitioned().upstream('2025-11-04')).toEqual(['all']);
    expect(partitionKeys(hourly(), '2025-11-03', '2025-11-04')).toHaveLength(48);
    expect(partitionKeys(undefined, '2025-11-03', '2025-11-04')).toEqual(['all']);
  });

  it('computes Paris calendar days of instants (not UTC days)', () => {
    expect(dayInZone(new Date('2025-11-03T23:30:00Z'))).toBe('2025-11-04'); // 00:30 in Paris (UTC+1)
    expect(dayInZone(new Date('2025-07-01T21:59:00Z'))).toBe('2025-07-01'); // 23:59 in Paris (UTC+2)
  });

  it('encodes version parts injectively', () => {
    expect(combineVersions(['a', 'bc'])).not.toBe(combineVersions(['ab', 'c']));
    expect(combineVersions(['a', null])).not.toBe(combineVersions(['a', 'null']));
  });
});
