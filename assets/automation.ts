/**
 * The Paris pipeline's automation (what `pipeline daemon` does with no other setting), kept apart from
 * the assets' code so that a schedule change does not change their code versions:
 * - the metrics follow their raw data: a day's metrics are rebuilt as soon as an hour of it arrives or
 *   changes (a batch CSV change rebuilds every day it covers, through the planner: only what changed);
 * - the daily report (and its CSV) is built once every raw partition of its day is in (the 24 hours —
 *   23/25 on DST days — of bikes, traffic and weather, and the batch files), and again whenever a late
 *   file changes its inputs; a day that never completes is built anyway at 06:00 Paris the next morning;
 * - freshness: a warning when the latest report is for a day that ended more than 26 h ago.
 */
import { eager, freshness, onCron, withAutomation, type AnyAsset } from '../engine/index.ts';

const followRaw = eager({ require: 'any-input' });

const POLICY: Record<string, Parameters<typeof withAutomation>[1]> = {
  bikes_metrics: followRaw,
  traffic_metrics: followRaw,
  weather_metrics: followRaw,
  chantiers_metrics: followRaw,
  referentiel_metrics: followRaw,
  comptages_arc_days: followRaw,
  comptages_metrics: followRaw,
  daily_report: [
    eager({ require: 'all-sources' }),
    onCron('0 6 * * *', { partitions: 'yesterday' }),
    freshness({ maxLag: '26h' }),
  ],
  daily_report_csv: eager({ require: 'all-inputs' }),
};

/** The assets with the Paris automation declared (sources unchanged). */
export function withParisAutomation(assets: readonly AnyAsset[]): AnyAsset[] {
  return assets.map((a) => (POLICY[a.key] ? withAutomation(a, POLICY[a.key]!) : a));
}
