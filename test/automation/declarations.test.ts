/** Automation declarations: validated when assets are defined, with one-line errors; cron ticks across DST. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  daily,
  defineAsset,
  DefinitionError,
  eager,
  freshness,
  hourly,
  nextTick,
  onCron,
  parseDuration,
  staticPartitions,
  tickPartition,
  ticksBetween,
  withAutomation,
} from '../../engine/index.ts';

const asset = (automation: Parameters<typeof defineAsset>[0]['automation'], partitions = daily()) =>
  defineAsset({ key: 'a', partitions, schema: z.number(), compute: () => 1, automation });

describe('declarations', () => {
  it('accepts eager, cron and freshness together and keeps them on the asset', () => {
    const a = asset([eager({ require: 'all-sources' }), onCron('0 6 * * *'), freshness({ maxLag: '26h' })]);
    expect(a.automation?.map((x) => x.kind)).toEqual(['eager', 'cron', 'freshness']);
    expect(a.automation?.[2]).toMatchObject({ maxLagMs: 26 * 3_600_000 });
  });

  it('rejects a bad cron text, a bad duration, a bad zone, with one line naming what to fix', () => {
    expect(() => onCron('0 25 * * *')).toThrow(/onCron\('0 25 \* \* \*'\): bad cron expression .*hour/);
    expect(() => onCron('0 6 * *')).toThrow(/4 fields: write 5/);
    expect(() => onCron('0 6 * * *', { timezone: 'Mars/Olympus' })).toThrow(
      /unknown time zone "Mars\/Olympus"/,
    );
    // Zone names Intl accepts besides its list of canonical ones are zones too (aliases, UTC, any case).
    for (const timezone of ['UTC', 'Etc/UTC', 'US/Eastern', 'europe/paris', 'Asia/Kolkata'])
      expect(() => onCron('0 6 * * *', { timezone }), timezone).not.toThrow();
    expect(() => daily({ timezone: 'Europe/Pariss' })).toThrow(/unknown time zone "Europe\/Pariss"/);
    expect(() => freshness({ maxLag: '26 hours' })).toThrow(DefinitionError);
    expect(() => freshness({ maxLag: '0h' })).toThrow(/not a duration/);
    expect(() => eager({ require: 'some' as never })).toThrow(/all-inputs, any-input, all-sources/);
    expect(() => asset([eager(), eager()])).toThrow(/Asset "a" automation: eager\(\) is declared twice/);
    expect(() => asset(onCron('0 6 * * *'), staticPartitions(['x']) as never)).toThrow(
      /needs time partitions/,
    );
    for (const bad of ['0 6 * * *x', '']) expect(() => onCron(bad)).toThrow(/^onCron/);
  });

  it('parses durations', () => {
    expect(parseDuration('26h')).toBe(93_600_000);
    expect(parseDuration('1d12h30m')).toBe(131_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('h')).toBeNull();
    expect(parseDuration('-1h')).toBeNull();
  });

  it('withAutomation copies an asset with the same code version, the original unchanged', () => {
    const a = defineAsset({ key: 'b', partitions: daily(), schema: z.number(), compute: () => 1 });
    const b = withAutomation(a, eager());
    expect(a.automation).toBeUndefined();
    expect(b.automation).toEqual([{ kind: 'eager', require: 'all-inputs' }]);
    expect(b.codeVersion).toBe(a.codeVersion);
  });
});

describe('cron ticks in the asset zone', () => {
  const c = onCron('0 6 * * *', { partitions: 'yesterday' });
  const paris = asset(c);

  it('06:00 Paris is 05:00Z in winter and 04:00Z on the day clocks go forward (2025-03-30)', () => {
    expect(new Date(nextTick(c, 'Europe/Paris', Date.parse('2025-03-29T00:00:00Z'))!).toISOString()).toBe(
      '2025-03-29T05:00:00.000Z',
    );
    const dst = nextTick(c, 'Europe/Paris', Date.parse('2025-03-29T06:00:00Z'))!;
    expect(new Date(dst).toISOString()).toBe('2025-03-30T04:00:00.000Z');
    expect(tickPartition(paris, c, dst)).toBe('2025-03-29');
    // and back on 2025-10-26 (25 h day): 06:00 CET = 05:00Z, once
    const back = ticksBetween(
      c,
      'Europe/Paris',
      Date.parse('2025-10-25T12:00:00Z'),
      Date.parse('2025-10-27T00:00:00Z'),
    );
    expect(back.map((t) => new Date(t).toISOString())).toEqual(['2025-10-26T05:00:00.000Z']);
  });

  it('a tick in a skipped local hour fires once, at the end of the gap', () => {
    const at0230 = onCron('30 2 * * *');
    const ticks = ticksBetween(
      at0230,
      'Europe/Paris',
      Date.parse('2025-03-29T12:00:00Z'),
      Date.parse('2025-03-31T12:00:00Z'),
    );
    expect(ticks.map((t) => new Date(t).toISOString())).toEqual([
      '2025-03-30T01:00:00.000Z', // 03:00 CEST: 02:30 does not exist that day
      '2025-03-31T00:30:00.000Z',
    ]);
  });

  it('`latest` on an hourly asset is the previous hour; the zone is the partitions zone', () => {
    const ny = onCron('5 * * * *', { partitions: 'latest' });
    const a = asset(ny, hourly('America/New_York'));
    const t = nextTick(ny, 'America/New_York', Date.parse('2025-11-02T05:30:00Z'))!; // 01:05 EST, 2nd 01:00
    expect(new Date(t).toISOString()).toBe('2025-11-02T06:05:00.000Z');
    expect(tickPartition(a, ny, t)).toBe('2025-11-02T01');
  });
});
