/** Where a metric asset is stored: the "metrics" IO manager, under its metric type. */
export const metricsIo = (metricType: string) => ({ io: 'metrics', ioMeta: { metricType } });
