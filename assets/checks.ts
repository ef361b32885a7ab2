/**
 * Data-quality checks on the metric documents, beyond what their zod schemas already enforce
 * (non-negative numbers, ranges): internal consistency and one row per entity per day. Each dataset's
 * checks sit next to its metrics (`assets/<dataset>/checks.ts`), so an asset's code version covers its
 * own checks only; this module lists them.
 */
export { bikesChecks } from './bikes/checks.ts';
export { chantiersChecks } from './chantiers/checks.ts';
export { referentielChecks } from './referentiel/checks.ts';
export { trafficChecks } from './traffic/checks.ts';
export { weatherChecks } from './weather/checks.ts';
