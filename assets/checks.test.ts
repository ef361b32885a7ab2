import { describe, expect, it } from 'vitest';
import { bikesChecks, chantiersChecks, trafficChecks, weatherChecks } from './checks.ts';

const run = async <T>(checks: { name: string; fn: (v: T) => unknown }[], v: T) =>
  Object.fromEntries(
    await Promise.all(checks.map(async (c) => [c.name, ((await c.fn(v)) as { status: string }).status])),
  );

describe('metric checks', () => {
  it('bikes: a counter listed twice or a total that is not the sum fails', async () => {
    const m = (id: string, total: number) => ({ id_compteur: id, total_jour: total });
    const good = { metrics: [m('a', 3), m('b', 4)], total_velos: 7 };
    const bad = { metrics: [m('a', 3), m('a', 4)], total_velos: 8 };
    expect(await run(bikesChecks as never, good)).toEqual({
      bikes_one_row_per_counter: 'pass',
      bikes_total_is_sum_of_counters: 'pass',
    });
    expect(await run(bikesChecks as never, bad)).toEqual({
      bikes_one_row_per_counter: 'fail',
      bikes_total_is_sum_of_counters: 'fail',
    });
  });

  it('traffic, weather and works consistency', async () => {
    expect(
      await run(trafficChecks as never, { active_disruptions_count: 5, total_disruptions_count: 4 }),
    ).toEqual({ traffic_active_within_total: 'fail' });
    expect(
      await run(weatherChecks as never, { metrics: { temp_min: 10, temp_moyenne: 9, temp_max: 12 } }),
    ).toEqual({ weather_min_mean_max_ordered: 'fail' });
    // A day of equal temperatures: the float mean is 15.600000000000003, still ordered.
    const mean =
      Array<number>(24)
        .fill(15.6)
        .reduce((a, b) => a + b) / 24;
    expect(mean).toBeGreaterThan(15.6);
    expect(
      await run(weatherChecks as never, { metrics: { temp_min: 15.6, temp_moyenne: mean, temp_max: 15.6 } }),
    ).toEqual({ weather_min_mean_max_ordered: 'pass' });
    expect(
      await run(weatherChecks as never, { metrics: { temp_min: 15.6, temp_moyenne: 15.7, temp_max: 15.6 } }),
    ).toEqual({ weather_min_mean_max_ordered: 'fail' });
    expect(await run(weatherChecks as never, { metrics: null, note: 'no data' })).toEqual({
      weather_min_mean_max_ordered: 'warn',
    });
    const works = {
      total_chantiers_actifs: 2,
      chantiers_actifs: [{ identifiant: 'CP1' }, { identifiant: 'CP1' }],
    };
    expect(await run(chantiersChecks as never, works)).toEqual({
      chantiers_one_row_per_work: 'fail',
      chantiers_count_matches_list: 'pass',
    });
  });
});
