/**
 * Where a (asset, partition) lives in DynamoDB (SPEC §4.4):
 * - `ioMeta.report` → reports table, `report_id = daily_report_<date>`, sort key `date`, value in `report`;
 * - otherwise → metrics table, `metric_type = ioMeta.metricType ?? assetKey`, sort key `date`, value in `metrics`.
 * Chunks of a large value sit in the same table under `<pk>#chunk` / `<date>#<write tag>#<index>`, so a
 * write never overwrites the chunks the current index item points to.
 */
import type { IOContext } from '../../engine/io.ts';

export interface DynamoTables {
  metricsTable: string;
  reportsTable: string;
}

export interface ItemKey {
  table: string;
  pkName: 'metric_type' | 'report_id';
  skName: 'date';
  pk: string;
  sk: string;
  /** Attribute holding an inline value. */
  payloadAttr: 'metrics' | 'report';
}

export function itemKeyFor(ctx: IOContext, tables: DynamoTables): ItemKey {
  const meta = ctx.ioMeta ?? {};
  if (meta.report === true)
    return {
      table: tables.reportsTable,
      pkName: 'report_id',
      skName: 'date',
      pk: `daily_report_${ctx.partitionKey}`,
      sk: ctx.partitionKey,
      payloadAttr: 'report',
    };
  const metricType =
    typeof meta.metricType === 'string' && meta.metricType !== '' ? meta.metricType : ctx.assetKey;
  return {
    table: tables.metricsTable,
    pkName: 'metric_type',
    skName: 'date',
    pk: metricType,
    sk: ctx.partitionKey,
    payloadAttr: 'metrics',
  };
}

export function indexKey(k: ItemKey): Record<string, string> {
  return { [k.pkName]: k.pk, [k.skName]: k.sk };
}

export const chunkPk = (k: ItemKey): string => `${k.pk}#chunk`;
/** Prefix shared by every chunk of this key, whatever the write. */
export const chunkSkPrefix = (k: ItemKey): string => `${k.sk}#`;

export function chunkKey(k: ItemKey, tag: string, index: number): Record<string, string> {
  return {
    [k.pkName]: chunkPk(k),
    [k.skName]: `${chunkSkPrefix(k)}${tag}#${String(index).padStart(6, '0')}`,
  };
}

/** The write tag a chunk sort key belongs to, or undefined if it is not one of this key's chunks. */
export function tagOfChunkSk(k: ItemKey, sk: string): string | undefined {
  const prefix = chunkSkPrefix(k);
  if (!sk.startsWith(prefix)) return undefined;
  const rest = sk.slice(prefix.length);
  const cut = rest.lastIndexOf('#');
  return cut > 0 ? rest.slice(0, cut) : undefined;
}

export function locationOf(k: ItemKey): string {
  return `dynamodb://${k.table}/${encodeURIComponent(k.pk)}/${encodeURIComponent(k.sk)}`;
}
