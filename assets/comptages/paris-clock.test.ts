import { describe, expect, it } from 'vitest';
import {
  existingHourSlots,
  parisDayHour,
  parisOffsetMinutes,
  parisOffsetMinutesIntl,
  parseCountTimestamp,
} from './paris-clock.ts';

describe('parisOffsetMinutes (EU rule fast path)', () => {
  it('agrees with Intl (IANA Europe/Paris) for every hour and half-hour of 2019–2026', () => {
    const start = Date.UTC(2019, 0, 1);
    const end = Date.UTC(2027, 0, 1);
    let mismatches = 0;
    for (let t = start; t < end; t += 1_800_000)
      if (parisOffsetMinutes(t) !== parisOffsetMinutesIntl(t)) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('switches exactly at 01:00 UTC on the last Sundays of March and October', () => {
    expect(parisOffsetMinutes(Date.UTC(2024, 2, 31, 0, 59, 59))).toBe(60);
    expect(parisOffsetMinutes(Date.UTC(2024, 2, 31, 1))).toBe(120);
    expect(parisOffsetMinutes(Date.UTC(2024, 9, 27, 0, 59, 59))).toBe(120);
    expect(parisOffsetMinutes(Date.UTC(2024, 9, 27, 1))).toBe(60);
  });

  it('falls back to Intl outside 1996..2099', () => {
    expect(parisOffsetMinutes(Date.UTC(1990, 6, 1))).toBe(parisOffsetMinutesIntl(Date.UTC(1990, 6, 1)));
  });

  it('gives the Paris day and hour of an instant', () => {
    // 23:30 UTC on 2024-07-01 is 01:30 CEST on 2024-07-02.
    expect(parisDayHour(Date.UTC(2024, 6, 1, 23, 30))).toEqual({ day: '2024-07-02', hour: 1 });
  });
});

describe('parseCountTimestamp', () => {
  it('reads ISO timestamps with an offset, Z or compact offsets', () => {
    expect(parseCountTimestamp('2024-01-04T22:00:00+01:00')).toEqual({
      ok: true,
      instant: Date.UTC(2024, 0, 4, 21),
      day: '2024-01-04',
      hour: 22,
      offsetMinutes: 60,
    });
    // 22:00Z on 2024-06-30 is 00:00 CEST on 2024-07-01: the Paris day, not the UTC one.
    expect(parseCountTimestamp('2024-06-30T22:00:00Z')).toMatchObject({
      ok: true,
      day: '2024-07-01',
      hour: 0,
    });
    expect(parseCountTimestamp('2024-06-30T23:00:00+0100')).toMatchObject({
      ok: true,
      day: '2024-07-01',
      hour: 0,
    });
    expect(parseCountTimestamp('2024-06-30T22:00:00.000+00:00')).toMatchObject({ ok: true, hour: 0 });
  });

  it('reads offset-less times as Paris wall clock', () => {
    expect(parseCountTimestamp('2023-02-05 01:00:00')).toMatchObject({
      ok: true,
      instant: Date.UTC(2023, 1, 5, 0),
      hour: 1,
      offsetMinutes: 60,
    });
    expect(parseCountTimestamp('2023-07-05T01:00')).toMatchObject({
      ok: true,
      instant: Date.UTC(2023, 6, 4, 23),
    });
  });

  it('flags the repeated autumn hour as ambiguous and the spring gap as nonexistent', () => {
    expect(parseCountTimestamp('2024-10-27 02:00:00')).toEqual({
      ok: 'ambiguous',
      day: '2024-10-27',
      hour: 2,
      summer: Date.UTC(2024, 9, 27, 0),
      winter: Date.UTC(2024, 9, 27, 1),
    });
    expect(parseCountTimestamp('2024-03-31 02:00:00')).toEqual({
      ok: false,
      reason: 'nonexistent_local_time',
    });
  });

  it('refuses garbage, impossible dates and times off the hour', () => {
    expect(parseCountTimestamp('le 4 mars')).toEqual({ ok: false, reason: 'unparsable_date' });
    expect(parseCountTimestamp('2024-02-30T10:00:00+01:00')).toEqual({
      ok: false,
      reason: 'unparsable_date',
    });
    expect(parseCountTimestamp('2024-02-03T24:00:00+01:00')).toEqual({
      ok: false,
      reason: 'unparsable_date',
    });
    expect(parseCountTimestamp('2024-03-04')).toEqual({ ok: false, reason: 'unparsable_date' });
    expect(parseCountTimestamp('2024-03-04T17:30:00+01:00')).toEqual({
      ok: false,
      reason: 'timestamp_not_on_hour',
    });
  });
});

describe('existingHourSlots', () => {
  it('has no slot 2 on the spring-forward day and 24 slots otherwise', () => {
    expect(existingHourSlots('2024-03-31')).toEqual([0, 1, ...Array.from({ length: 21 }, (_, i) => i + 3)]);
    expect(existingHourSlots('2024-10-27')).toHaveLength(24);
    expect(existingHourSlots('2024-03-30')).toHaveLength(24);
    expect(existingHourSlots('1990-03-25')).not.toContain(2);
  });
});
