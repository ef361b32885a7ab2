import { test } from 'vitest';
import { z } from 'zod';
import { defineAsset } from './asset.ts';
import type { IOContext } from './io.ts';
import type { StorageMeta } from './storage.ts';

const base = { schema: z.string(), compute: () => 'x' };

test('storage placement is type-checked: sections, their fields and values', () => {
  defineAsset({
    key: 'ok_file',
    io: 'files',
    storage: { file: { format: 'text', extension: 'csv' } },
    ...base,
  });
  defineAsset({
    key: 'ok_both',
    io: 'reports',
    storage: { database: { table: 'reports', id: 'daily_report_{partition}' }, file: { format: 'json' } },
    ...base,
  });
  // @ts-expect-error — 'csv' is not a format (json or text; the extension says csv)
  defineAsset({ key: 'bad_format', storage: { file: { format: 'csv' } }, ...base });
  // @ts-expect-error — no section "databse"
  defineAsset({ key: 'bad_section', storage: { databse: { table: 'metrics' } }, ...base });
  // @ts-expect-error — "tabel" is not a field of the database section
  defineAsset({ key: 'bad_field', storage: { database: { tabel: 'metrics' } }, ...base });
  // @ts-expect-error — a table is named by a string
  defineAsset({ key: 'bad_table', storage: { database: { table: 1 } }, ...base });
  // @ts-expect-error — the old untyped bag is gone
  defineAsset({ key: 'old_bag', ioMeta: { report: true }, ...base });
});

test('IO managers see the typed sections', () => {
  const read = (ctx: IOContext): string | undefined => ctx.storage?.database?.table;
  void read;
  // @ts-expect-error — metricType is not a storage field
  const old: StorageMeta = { database: { metricType: 'bikes' } };
  void old;
});
