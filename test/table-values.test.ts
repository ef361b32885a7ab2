/**
 * One serialisation per value (engine/encode.ts): the data version is the hash of the bytes the file
 * store wrote; JSON is canonical (sorted keys), so a value built in another key order has the same
 * bytes and version. Table values (tableSchema) are stored as Arrow IPC streams, checked on columns,
 * read back as Tables; database managers refuse them.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Int32, Utf8, tableFromArrays, vectorFromArray, Table } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeValue, encodeValue } from '../engine/encode.ts';
import {
  defineAsset,
  defineDefinitions,
  execute,
  plan,
  StateStore,
  type AnyAsset,
  type IOManager,
  type RunEvent,
} from '../engine/index.ts';
import { isTableSchema, tableColumnsOf, tableSchema } from '../engine/table.ts';
import { encodeJsonValue } from '../io-managers/json-value.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-table-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const sha16 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

function setup(assets: AnyAsset[], io: IOManager = new LocalFsIOManager({ rootDir: join(dir, 'out') })) {
  const defs = defineDefinitions({
    assets,
    io: { default: io },
    sources: new LocalSourceIO({ dataDir: dir }),
  });
  const state = new StateStore(join(dir, 'state'));
  return async (select: string[], force = false) => {
    const events: RunEvent[] = [];
    const p = await plan(defs, state, {
      selected: new Set(select),
      force,
      days: { from: '2025-11-04', to: '2025-11-04' },
    });
    const result = await execute(defs, state, p, { onEvent: (e) => events.push(e) });
    const versions = new Map(
      events.flatMap((e) => (e.type === 'materialized' ? [[e.asset, e.metadata.dataVersion] as const] : [])),
    );
    return { p, result, events, versions };
  };
}

const Counts = tableSchema({
  id: { type: new Utf8(), nullable: false },
  n: new Int32(),
  x: new Float64(),
});
const countsTable = (): Table =>
  new Table({
    id: vectorFromArray(['a', 'b', 'c'], new Utf8()),
    n: vectorFromArray([1, null, 3], new Int32()),
    x: vectorFromArray([0.1 + 0.2, 2, null], new Float64()),
  });

describe('data version = hash of the stored bytes', () => {
  it('JSON: canonical (sorted keys) on disk; the version is the file’s hash, the same for another key order', async () => {
    let flip = false;
    const doc = defineAsset({
      key: 'doc',
      schema: z.record(z.string(), z.number()),
      compute: () => {
        flip = !flip;
        return flip ? { b: 2, a: 1, c: 3 } : { c: 3, a: 1, b: 2 };
      },
    });
    const run = setup([doc]);
    const first = await run(['doc']);
    const bytes = await readFile(join(dir, 'out/doc/all.json'));
    expect(bytes.toString()).toBe('{\n  "a": 1,\n  "b": 2,\n  "c": 3\n}');
    expect(first.versions.get('doc')).toBe(sha16(bytes));
    const again = await run(['doc'], true);
    expect(again.result).toMatchObject({ materialized: 1 });
    expect(again.versions.get('doc')).toBe(first.versions.get('doc'));
    expect(await readFile(join(dir, 'out/doc/all.json'))).toEqual(bytes);
  });
});

describe('table values (Arrow IPC)', () => {
  it('are stored as an Arrow stream whose hash is the version, loaded as a Table downstream, re-encoded identically', async () => {
    const counts = defineAsset({ key: 'counts', schema: Counts, compute: () => countsTable() });
    const total = defineAsset({
      key: 'total',
      schema: z.number(),
      deps: { counts },
      compute: ({ counts }) => {
        expect(counts).toBeInstanceOf(Table);
        const n = counts.getChild('n')!;
        let s = 0;
        for (let i = 0; i < n.length; i++) s += n.get(i) ?? 0;
        return s;
      },
    });
    expect(counts.storage).toEqual({ file: { format: 'arrow' } });
    const run = setup([counts, total]);
    const first = await run(['counts', 'total']);
    expect(first.result).toMatchObject({ status: 'success', materialized: 2 });
    const bytes = await readFile(join(dir, 'out/counts/all.arrows'));
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff])); // IPC continuation marker
    expect(first.versions.get('counts')).toBe(sha16(bytes));
    expect(JSON.parse(await readFile(join(dir, 'out/total/all.json'), 'utf8'))).toBe(4);
    const materialized = first.events.find((e) => e.type === 'materialized' && e.asset === 'counts');
    expect(materialized).toMatchObject({ metadata: { rows: 3, bytes: bytes.length } });
    // Same table → same bytes: what was loaded encodes to the stored file again.
    const loaded = (await decodeValue(bytes, 'arrow')) as Table;
    expect(loaded.getChild('x')!.toArray()[0]).toBe(0.1 + 0.2);
    expect(Buffer.concat((await encodeValue(loaded, 'arrow')).chunks)).toEqual(bytes);
    expect((await encodeValue(countsTable(), 'arrow')).dataVersion).toBe(sha16(bytes));
    // Nothing changed: nothing runs.
    const second = await run(['counts', 'total']);
    expect(second.p.units.filter((u) => u.decision === 'run')).toHaveLength(0);
  });

  it('are checked on columns: a wrong type, a missing column, a null where none is allowed, a non-table', async () => {
    const check = (v: unknown) => {
      const r = Counts.safeParse(v);
      return r.success ? 'ok' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(check(countsTable())).toBe('ok');
    expect(check(tableFromArrays({ id: ['a'], n: Float64Array.of(1), x: Float64Array.of(1) }))).toMatch(
      /id: column type Dictionary<Int32, Utf8>, expected Utf8; n: column type Float64, expected Int32$/,
    );
    expect(check(tableFromArrays({ id: ['a'], n: Int32Array.of(1) }))).toMatch(
      /table columns are \[id, n\], expected \[id, n, x\]/,
    );
    const nullId = new Table({
      id: vectorFromArray(['a', null], new Utf8()),
      n: vectorFromArray([1, 2], new Int32()),
      x: vectorFromArray([1, 2], new Float64()),
    });
    expect(check(nullId)).toBe('id: 1 nulls in a column without nulls');
    expect(check([{ id: 'a' }])).toMatch(/expected an Arrow Table, got an array/);

    const bad = defineAsset({
      key: 'bad',
      schema: Counts,
      compute: () => tableFromArrays({ id: ['a'] }) as never,
    });
    const r = await setup([bad])(['bad']);
    expect(r.result).toMatchObject({ status: 'failed', failed: 1 });
    expect(r.events.find((e) => e.type === 'failed')).toMatchObject({
      error: expect.stringMatching(/Output of bad does not match its schema: .*table columns are \[id\]/),
    });
  });

  it('may declare their columns as a function of apache-arrow: made on first check, checked asynchronously by the engine', async () => {
    let made = 0;
    const LazyCounts = tableSchema((A) => {
      made++;
      return { id: { type: new A.Utf8(), nullable: false }, n: new A.Int32(), x: new A.Float64() };
    });
    // Declaring it and defining an asset with it make no Arrow object.
    const counts = defineAsset({ key: 'counts', schema: LazyCounts, compute: () => countsTable() });
    expect(isTableSchema(LazyCounts)).toBe(true);
    expect(counts.storage).toEqual({ file: { format: 'arrow' } });
    expect(made).toBe(0);
    expect(Object.keys((await tableColumnsOf(LazyCounts))!)).toEqual(['id', 'n', 'x']);
    // The same checks as a schema declared with its columns.
    expect((await LazyCounts.safeParseAsync(countsTable())).success).toBe(true);
    const wrong = await LazyCounts.safeParseAsync(
      tableFromArrays({ id: ['a'], n: Float64Array.of(1), x: Float64Array.of(1) }),
    );
    expect(wrong.success ? [] : wrong.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'id: column type Dictionary<Int32, Utf8>, expected Utf8',
      'n: column type Float64, expected Int32',
    ]);
    const bad = defineAsset({
      key: 'bad',
      schema: LazyCounts,
      compute: () => tableFromArrays({ id: ['a'] }) as never,
    });
    const run = setup([counts, bad]);
    const r = await run(['counts', 'bad']);
    expect(r.result).toMatchObject({ materialized: 1, failed: 1 });
    expect(r.events.find((e) => e.type === 'failed')).toMatchObject({
      error: expect.stringMatching(/Output of bad does not match its schema: .*table columns are \[id\]/),
    });
    // Stored as the same Arrow bytes as with the declared columns.
    const bytes = await readFile(join(dir, 'out/counts/all.arrows'));
    expect(r.versions.get('counts')).toBe((await encodeValue(countsTable(), 'arrow')).dataVersion);
    expect(r.versions.get('counts')).toBe(sha16(bytes));
  });

  it('are refused when the definitions load by a store that does not keep tables, and by the database encoder', () => {
    const counts = defineAsset({ key: 'counts', schema: Counts, compute: () => countsTable() });
    const noTables: IOManager = {
      name: 'documents',
      load: () => Promise.resolve(null),
      store: () => Promise.resolve({ bytes: 0, location: '' }),
      stat: () => Promise.resolve(null),
    };
    expect(() => setup([counts], noTables)).toThrow(
      'Asset "counts" returns a table (Arrow), but IO manager "default" (documents) does not store tables: bind it to local files or S3',
    );
    expect(() =>
      defineAsset({ key: 'x', schema: z.number(), storage: { file: { format: 'arrow' } }, compute: () => 1 }),
    ).toThrow(/storage.file.format 'arrow' is for table values/);
    expect(() =>
      defineAsset({
        key: 'y',
        schema: Counts,
        storage: { file: { format: 'json' } },
        compute: () => countsTable(),
      }),
    ).toThrow(/must be 'arrow'/);
    expect(() => encodeJsonValue(countsTable())).toThrow(
      /\$ is an Arrow Table: database IO managers store JSON/,
    );
  });
});
