import type { StorageMeta } from '../../engine/index.ts';

/**
 * Where a metric asset is stored: the "metrics" IO manager; in a database, the `metrics` table with the
 * metric type as the record's id (`metric_type`), one record per day. Local files: `<asset>/<day>.json`.
 */
export const metricsIo = (metricType: string): { io: 'metrics'; storage: StorageMeta } => ({
  io: 'metrics',
  storage: { database: { table: 'metrics', id: metricType } },
});
