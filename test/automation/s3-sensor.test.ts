/**
 * The sensor on S3 (the real Ceph RADOS Gateway the tests start): raw partitions discovered and observed
 * through S3SourceIO (`listFolders`, `observe`; listings once per evaluation as in the CLI), a new hour
 * object noticed and exactly its day's unit run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  daily,
  defineAsset,
  defineDefinitions,
  defineSource,
  dep,
  eager,
  emptyCursor,
  evaluateAutomation,
  execute,
  hourly,
  hourlyToDaily,
  plan,
  StateStore,
  type AutomationCursor,
  type Definitions,
} from '../../engine/index.ts';
import { LocalFsIOManager } from '../../io-managers/local-fs.ts';
import { S3SourceIO } from '../../io-managers/s3/s3-source.ts';
import { freshBucket, put, s3SkipReason, testClient } from '../s3/helpers.ts';

const skip = s3SkipReason();

const raw = defineSource({
  key: 'raw_counts',
  partitions: hourly(),
  locate: (p) => ({ prefix: `api/counts/dt=${p.slice(0, 10)}/hour=${p.slice(11, 13)}`, match: /\.json$/ }),
});
const dayTotal = defineAsset({
  key: 'day_total',
  partitions: daily(),
  schema: z.number(),
  deps: { hours: dep(raw, hourlyToDaily()) },
  automation: eager({ require: 'any-input' }),
  compute: ({ hours }) => hours.reduce((n, h) => n + h.value.files.length, 0),
});

describe.skipIf(skip !== '')(`the sensor on S3 (Ceph RGW)${skip ? ` — SKIPPED: ${skip}` : ''}`, () => {
  let client: S3Client;
  let bucket: string;
  let dir: string;
  let source: S3SourceIO;
  let defs: Definitions;
  const key = (day: string, hour: string) => `raw/api/counts/dt=${day}/hour=${hour}/x.json`;

  beforeAll(async () => {
    client = testClient();
    bucket = await freshBucket(client, 'sensor');
    dir = await mkdtemp(join(tmpdir(), 'cityflow-s3-sensor-'));
    source = new S3SourceIO({
      client,
      bucket,
      prefix: 'raw',
      cacheDir: join(dir, 'cache'),
      listOncePerRun: true,
    });
    defs = defineDefinitions({
      assets: [raw, dayTotal],
      io: { default: new LocalFsIOManager({ rootDir: join(dir, 'out') }) },
      sources: source,
    });
    for (const h of ['00', '01']) await put(client, bucket, key('2025-11-03', h), '{}');
    await put(client, bucket, key('2025-11-04', '00'), '{}');
  });
  afterAll(async () => {
    client?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  async function tick(cursor: AutomationCursor, n: number) {
    source.newRun(); // as the daemon does before each evaluation
    const state = new StateStore(join(dir, 'state'));
    const ev = await evaluateAutomation({
      defs,
      state,
      cursor,
      now: Date.parse('2025-11-04T12:00:00Z'),
      tick: n,
      full: n === 1,
    });
    const ran: string[] = [];
    for (const r of ev.requests) {
      source.newRun();
      const p = await plan(defs, state, {
        selected: new Set(r.select.split(' ')),
        days: { from: (r.partition ?? r.from)!, to: (r.partition ?? r.to)! },
      });
      await execute(defs, state, p, {
        onEvent: (e) => void (e.type === 'materialized' && ran.push(`${e.asset}[${e.partition}]`)),
      });
    }
    return { ev, ran };
  }

  it('finds the hours in the bucket, then a new hour object runs only its day', async () => {
    const first = await tick(emptyCursor(), 1);
    expect(Object.keys(first.ev.cursor.sources.raw_counts!).sort()).toEqual([
      '2025-11-03T00',
      '2025-11-03T01',
      '2025-11-04T00',
    ]);
    expect(first.ran.sort()).toEqual(['day_total[2025-11-03]', 'day_total[2025-11-04]']);

    const idle = await tick(first.ev.cursor, 2);
    expect(idle.ev.requests).toEqual([]);

    await put(client, bucket, key('2025-11-04', '07'), '{}');
    const next = await tick(idle.ev.cursor, 3);
    expect(next.ev.changes).toEqual([{ source: 'raw_counts', partition: '2025-11-04T07', change: 'new' }]);
    expect(next.ran).toEqual(['day_total[2025-11-04]']);
  });
});
