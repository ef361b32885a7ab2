/**
 * Typed storage placement checked when definitions load (engine/storage-check.ts), with the real IO
 * managers (their constructors connect to nothing): an unknown IO manager name is an error naming the
 * asset and the bound names, never a silent fallback to the default store; JS users (no type checker)
 * get a runtime error for a malformed `storage`; a text asset is written as its text with its extension.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DefinitionError,
  defineAsset,
  defineDefinitions,
  execute,
  ioFor,
  plan,
  StateStore,
  type AnyAsset,
  type IOManager,
} from '../engine/index.ts';
import { DynamoDbIOManager } from '../io-managers/dynamodb/dynamodb-io-manager.ts';
import { LocalFsIOManager } from '../io-managers/local-fs.ts';
import { LocalSourceIO } from '../io-managers/local-source.ts';
import { MirrorIOManager } from '../io-managers/mirror.ts';
import { MongoDbIOManager } from '../io-managers/mongodb/mongodb-io-manager.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityflow-storage-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const local = () => new LocalFsIOManager({ rootDir: join(dir, 'out') });
const dynamo = () =>
  new DynamoDbIOManager({
    region: 'eu-west-3',
    endpoint: 'http://127.0.0.1:9',
    metricsTable: 'm',
    reportsTable: 'r',
  });
const mongo = () => new MongoDbIOManager({ url: 'mongodb://127.0.0.1:9/' });

/** An asset as a JS user would write it: `storage` unchecked by any compiler. */
const asset = (key: string, io: string | undefined, storage?: unknown): AnyAsset =>
  defineAsset({
    key,
    ...(io !== undefined && { io }),
    ...(storage !== undefined && { storage: storage as never }),
    schema: z.string(),
    compute: () => 'a;b\n1;2\n',
  });

const load = (assets: AnyAsset[], io: Record<string, IOManager>) =>
  defineDefinitions({ assets, io, sources: new LocalSourceIO({ dataDir: dir }) });

function loadError(assets: AnyAsset[], io: Record<string, IOManager>): Error {
  try {
    load(assets, io);
  } catch (err) {
    return err as Error;
  }
  throw new Error('the definitions loaded');
}

describe('an unknown IO manager name', () => {
  it("is an error when the definitions load, naming the asset, the name and the bound names (not stored in 'default')", () => {
    const err = loadError([asset('bikes_metrics', 'metrcs')], { default: local(), metrics: local() });
    expect(err).toBeInstanceOf(DefinitionError);
    expect(err.message).toBe(
      `Asset "bikes_metrics" is stored with io: 'metrcs', but no IO manager has that name ` +
        `(the definitions bind: default, metrics)`,
    );
  });

  it('ioFor never falls back to the default store', () => {
    const a = asset('x', 'reports');
    const defs = load([a], { default: local(), reports: local() });
    delete defs.io.reports;
    expect(() => ioFor(defs, a)).toThrow(`io: 'reports', but no IO manager has that name`);
  });

  it('an asset without io uses "default"', () => {
    const defs = load([asset('x', undefined)], { default: local() });
    expect(ioFor(defs, defs.graph.get('x'))).toBe(defs.io.default);
  });
});

describe('storage metadata validated at load (for JS users)', () => {
  const io = () => ({ default: local(), metrics: dynamo(), reports: new MirrorIOManager(mongo(), []) });
  const cases: [string, unknown, string][] = [
    ['a format that does not exist', { file: { format: 'csv' } }, 'storage.file.format'],
    [
      'an unknown section',
      { databse: { table: 'metrics' } },
      'storage.databse: unknown section (known: file, database)',
    ],
    ['an unknown field', { database: { metricType: 'bikes' } }, 'storage.database'],
    ['an id placeholder that does not exist', { database: { id: 'r_{day}' } }, 'unknown placeholder {day}'],
    ['an unbalanced brace', { database: { id: 'r_{partition' } }, 'unbalanced'],
    ['an extension with a dot', { file: { extension: '.csv' } }, 'storage.file.extension'],
    ['not an object', 'reports', 'storage must be an object'],
  ];
  it.each(cases)('%s', (_, storage, message) => {
    const err = loadError([asset('bad', 'metrics', storage)], io());
    expect(err).toBeInstanceOf(DefinitionError);
    expect(err.message).toContain('Asset "bad"');
    expect(err.message).toContain(message);
  });

  it("the bound manager checks what it knows: a table that is not one of the database's", () => {
    for (const binding of ['metrics', 'reports']) {
      const err = loadError([asset('bad', binding, { database: { table: 'reprts' } })], io());
      expect(err.message).toMatch(
        /^Asset "bad": storage\.database\.table: not one of the tables of this IO manager \(metrics, reports\) \(IO manager "(metrics|reports)", (dynamodb|mongodb\+mirror)\)$/,
      );
    }
  });

  it('sections for other kinds of store are accepted (a binding may be local files here, a database there)', () => {
    const storage = {
      database: { table: 'reports', id: 'daily_report_{partition}' },
      file: { format: 'json' },
    };
    expect(() =>
      load([asset('ok', 'metrics', storage)], { default: local(), metrics: local() }),
    ).not.toThrow();
    expect(() => load([asset('ok', 'metrics', storage)], io())).not.toThrow();
  });
});

it('a text asset is stored as its text, under its extension', async () => {
  const csv = asset('table_csv', 'files', { file: { format: 'text', extension: 'csv' } });
  const defs = load([csv], { default: local(), files: local() });
  const state = new StateStore(join(dir, 'state'));
  const p = await plan(defs, state, {
    selected: new Set(['table_csv']),
    days: { from: '2025-11-04', to: '2025-11-04' },
  });
  const result = await execute(defs, state, p, {});
  expect(result.failed).toBe(0);
  expect(result.materialized).toBe(1);
  expect(await readFile(join(dir, 'out/table_csv/all.csv'), 'utf8')).toBe('a;b\n1;2\n');
  expect(
    await defs.io.files!.load({ assetKey: 'table_csv', partitionKey: 'all', storage: csv.storage! }),
  ).toBe('a;b\n1;2\n');
});
