/**
 * Where a (asset, partition) lives in DynamoDB. The manager has named tables (`DynamoTable`: the
 * DynamoDB table, its id attribute, the attribute holding inline values); the range key is always
 * `date` = the partition key. An asset picks a table and its record id with `storage.database`
 * (engine/storage.ts): `{ table: 'reports', id: 'daily_report_{partition}' }`; by default the first
 * table and the asset key. Chunks of a large value sit in the same table under `<id>#chunk` /
 * `<date>#<write tag>#<index>`, so a write never overwrites the chunks the current index item points to.
 */
import type { IOContext } from '../../engine/io.ts';
import { fillIdTemplate } from '../../engine/storage.ts';

/** One table of the manager. */
export interface DynamoTable {
  /** The DynamoDB table name. */
  name: string;
  /** The hash key attribute (the record id), e.g. `metric_type`. */
  idAttribute: string;
  /** The attribute holding an inline value, e.g. `metrics`. */
  valueAttribute: string;
}

export interface DynamoTables {
  /**
   * The manager's tables by the name assets use in `storage.database.table`; the first is the default.
   * Omitted: the two tables of the `pipeline` settings, `metrics` (`metric_type`, value in `metrics`) and
   * `reports` (`report_id`, value in `report`), named by `metricsTable` and `reportsTable`.
   */
  tables?: Record<string, DynamoTable>;
  metricsTable?: string;
  reportsTable?: string;
}

/** The tables of a manager's options (see DynamoTables). */
export function resolveTables(opts: DynamoTables): Record<string, DynamoTable> {
  if (opts.tables) {
    if (!Object.keys(opts.tables).length) throw new Error('DynamoDB IO manager: "tables" is empty');
    return opts.tables;
  }
  if (!opts.metricsTable || !opts.reportsTable)
    throw new Error('DynamoDB IO manager: give "tables", or "metricsTable" and "reportsTable"');
  return {
    metrics: { name: opts.metricsTable, idAttribute: 'metric_type', valueAttribute: 'metrics' },
    reports: { name: opts.reportsTable, idAttribute: 'report_id', valueAttribute: 'report' },
  };
}

export interface ItemKey {
  table: string;
  pkName: string;
  skName: 'date';
  pk: string;
  sk: string;
  /** Attribute holding an inline value. */
  payloadAttr: string;
}

export function itemKeyFor(ctx: IOContext, tables: Record<string, DynamoTable>): ItemKey {
  const db = ctx.storage?.database ?? {};
  const name = db.table ?? Object.keys(tables)[0]!;
  const table = tables[name];
  if (!table)
    throw new Error(
      `${ctx.assetKey}: no DynamoDB table "${name}" (tables: ${Object.keys(tables).join(', ')})`,
    );
  return {
    table: table.name,
    pkName: table.idAttribute,
    skName: 'date',
    pk: db.id === undefined ? ctx.assetKey : fillIdTemplate(db.id, ctx),
    sk: ctx.partitionKey,
    payloadAttr: table.valueAttribute,
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
