/**
 * Every asset of the Paris pipeline. Each asset is defined in a module of its own next to its dataset
 * (`assets/<dataset>/asset.ts`): its automatic code version covers that module and the project modules it
 * imports (engine/code-version.ts), so editing one dataset's code re-runs that dataset's asset only (its
 * dependents re-run when its data changes). This module only lists them.
 */
import type { AnyAsset } from '../engine/index.ts';
import { withParisAutomation } from './automation.ts';
import { bikesMetrics } from './bikes/asset.ts';
import { chantiersMetrics } from './chantiers/asset.ts';
import { comptagesArcDays } from './comptages/arc-days-asset.ts';
import { comptagesMetrics } from './comptages/metrics-asset.ts';
import { referentielMetrics } from './referentiel/asset.ts';
import { dailyReport } from './report/asset.ts';
import { dailyReportCsv } from './report/csv-asset.ts';
import { rawBikes, rawChantiers, rawComptages, rawReferentiel, rawTraffic, rawWeather } from './sources.ts';
import { trafficMetrics } from './traffic/asset.ts';
import { weatherMetrics } from './weather/asset.ts';

export {
  bikesMetrics,
  chantiersMetrics,
  comptagesArcDays,
  comptagesMetrics,
  dailyReport,
  dailyReportCsv,
  referentielMetrics,
  trafficMetrics,
  weatherMetrics,
};

/** With their automation (assets/automation.ts: what `pipeline daemon` does). */
export const cityflowAssets: AnyAsset[] = withParisAutomation([
  rawBikes,
  rawTraffic,
  rawWeather,
  rawComptages,
  rawChantiers,
  rawReferentiel,
  bikesMetrics,
  trafficMetrics,
  weatherMetrics,
  chantiersMetrics,
  referentielMetrics,
  comptagesArcDays,
  comptagesMetrics,
  dailyReport,
  dailyReportCsv,
]);
