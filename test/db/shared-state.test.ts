/**
 * The shared state's DynamoDB parts on DynamoDB Local: the index backend (merge per partition, the
 * stamp, transactions of more than 100 records, the 400 KB item limit) and the unit locks (all or
 * nothing, waiting for whom, disjoint runs at once, an expired lease taken over, a fencing token that
 * refuses the index writes of a run whose units were taken over).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FencedWriteError, StateStore, unitSet, type MaterializationRecord } from '../../engine/index.ts';
import { DynamoIndexBackend } from '../../io-managers/dynamodb/index-backend.ts';
import { ensureStateTables } from '../../io-managers/dynamodb/state-tables.ts';
import { DynamoUnitLocks, lockEntryKey } from '../../io-managers/dynamodb/unit-locks.ts';
import { dynamoForTests, LOCAL_CREDENTIALS, LOCAL_REGION, type TestServer } from './servers.ts';

let server: TestServer;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
const suffix = randomUUID().slice(0, 8);
const indexTable = `cf-index-${suffix}`;
const locksTable = `cf-locks-${suffix}`;

beforeAll(async () => {
  server = await dynamoForTests();
  client = new DynamoDBClient({
    endpoint: server.address,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  doc = DynamoDBDocumentClient.from(client, { unmarshallOptions: { wrapNumbers: (s) => Number(s) } });
  expect(await ensureStateTables(client, [indexTable, locksTable])).toEqual([indexTable, locksTable]);
  expect(await ensureStateTables(client, [indexTable, locksTable])).toEqual([]);
}, 120_000);
afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

const rec = (runId: string, extra: Partial<MaterializationRecord> = {}): MaterializationRecord => ({
  dataVersion: `v-${runId}`,
  codeVersion: 'c1',
  inputVersions: {},
  runId,
  at: '2026-01-01T00:00:00.000Z',
  ...extra,
});
const index = () => new DynamoIndexBackend({ doc, table: indexTable, locksTable });
const locks = (leaseMs = 60_000) => new DynamoUnitLocks({ doc, table: locksTable, leaseMs });
const quiet = () => {
  const said: string[] = [];
  return { said, onWait: (m: string) => void said.push(m) };
};

describe('DynamoDB index backend', () => {
  it('replaces only the written partitions, moves the stamp, and reads back what was written', async () => {
    const b = index();
    const s0 = await b.stamp();
    await b.write(new Map([['a', { '2026-01-01': rec('r1'), '': rec('r1') }]]));
    const s1 = await b.stamp();
    expect(s1).not.toBe(s0);
    // Another process writes another partition, then rewrites one of the first.
    await b.write(new Map([['a', { '2026-01-02': rec('r2') }]]));
    await b.write(
      new Map([['a', { '2026-01-01': rec('r3', { lastFailure: { runId: 'r3', at: 'x', error: 'e' } }) }]]),
    );
    const loaded = (await b.load(['a', 'nothing'])).get('a')!;
    expect(Object.keys(loaded).sort()).toEqual(['', '2026-01-01', '2026-01-02']);
    expect(loaded['2026-01-01']!.runId).toBe('r3');
    expect(loaded['2026-01-01']!.lastFailure?.error).toBe('e');
    expect(loaded['']!.runId).toBe('r1');
    expect((await b.load(['nothing'])).get('nothing')).toEqual({});
    expect(Number(await b.stamp())).toBe(Number(s0) + 3);

    // Through a StateStore: no synchronous read, so unloaded assets are refused; loaded ones merge.
    const st = new StateStore('/nonexistent-state-dir', b);
    expect(() => st.get('a', '2026-01-01')).toThrow(/not loaded from DynamoDB table/);
    await st.load(['a']);
    st.recordSuccess('a', '2026-01-03', {
      ...rec('r4'),
      metadata: { bytes: 1, durationMs: 1, location: 'x', dataVersion: 'v-r4' },
    } as never);
    await st.flush();
    expect(Object.keys((await b.load(['a'])).get('a')!).sort()).toEqual([
      '',
      '2026-01-01',
      '2026-01-02',
      '2026-01-03',
    ]);
  });

  it('writes more records than one transaction holds, and refuses a record above the item limit', async () => {
    const b = index();
    const many = Object.fromEntries(
      Array.from({ length: 250 }, (_, i) => [`p${String(i).padStart(3, '0')}`, rec('big')]),
    );
    await b.write(new Map([['many', many]]));
    expect(Object.keys((await b.load(['many'])).get('many')!)).toHaveLength(250);
    const huge = rec('huge', {
      metadata: {
        bytes: 1,
        durationMs: 1,
        location: 'x',
        dataVersion: 'v',
        blob: 'x'.repeat(420_000),
      } as never,
    });
    await expect(b.write(new Map([['many', { p000: huge }]]))).rejects.toThrow(
      /Index record many\[p000\] is 4\d\d KB, above DynamoDB's 400 KB item limit/,
    );
    expect((await b.load(['many'])).get('many')!.p000!.runId).toBe('big');
  });
});

describe('DynamoDB unit locks', () => {
  it('disjoint runs take their units at once; a run waits, saying for whom, and takes all of its units at once', async () => {
    const l = locks();
    const t0 = performance.now();
    const relA = await l.acquire(
      'run-a',
      unitSet([
        { asset: 'x', partition: '1' },
        { asset: 'x', partition: '2' },
      ]),
      quiet(),
    );
    const lockMs = performance.now() - t0;
    const relB = await l.acquire('run-b', unitSet([{ asset: 'x', partition: '3' }]), quiet());
    expect(relB.fence!.token).toBeGreaterThan(relA.fence!.token);
    const c = quiet();
    let cDone = false;
    const relC = l
      .acquire(
        'run-c',
        unitSet([
          { asset: 'x', partition: '2' },
          { asset: 'x', partition: '3' },
        ]),
        c,
      )
      .then((r) => ((cDone = true), r));
    await new Promise((r) => setTimeout(r, 1200));
    expect(cDone).toBe(false);
    expect(c.said.join('\n')).toMatch(
      /waiting for run run-a \(pid \d+ on .+\) to release the unit locks of 1 unit\(s\) this run builds: x\[2\] in DynamoDB table/,
    );
    expect(c.said.join('\n')).toMatch(/waiting for run run-b .* x\[3\]/);
    // All or nothing: no entry of run-c while it waits.
    expect((await l.entries()).map((e) => e.runId).sort()).toEqual(['run-a', 'run-b']);
    await relA();
    await new Promise((r) => setTimeout(r, 800));
    expect(cDone).toBe(false); // still one of its units held
    await relB();
    const rc = await relC;
    expect(rc.fence!.token).toBeGreaterThan(relB.fence!.token);
    expect((await l.entries()).map((e) => e.runId)).toEqual(['run-c']);
    await rc();
    expect(await l.entries()).toEqual([]);
    console.log(`DynamoDB Local: taking a 2-unit lock took ${lockMs.toFixed(1)} ms`);
  });

  it('an expired lease is taken over; the old holder’s index writes are refused, the new one’s kept', async () => {
    const l = locks();
    const b = index();
    const units = unitSet([{ asset: 'f', partition: 'd1' }]);
    const old = await l.acquire('run-old', units, quiet());
    await b.write(new Map([['f', { d1: rec('run-old') }]]), old.fence);
    // The holder stops refreshing (paused): its lease runs out.
    await doc.send(
      new UpdateCommand({
        TableName: locksTable,
        Key: lockEntryKey('run-old'),
        UpdateExpression: 'SET expiresAt = :x',
        ExpressionAttributeValues: { ':x': Date.now() - 1 },
      }),
    );
    const q = quiet();
    const next = await l.acquire('run-new', units, q);
    expect(q.said.join('\n')).toMatch(
      /took over the unit locks of run run-old \(pid \d+ on .+\) in DynamoDB table .*: its lease ran out at/,
    );
    await b.write(new Map([['f', { d1: rec('run-new') }]]), next.fence);
    const err = await b
      .write(new Map([['f', { d1: rec('run-old'), d2: rec('run-old') }]]), old.fence)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencedWriteError);
    expect((err as Error).message).toMatch(
      /^run run-old no longer holds its unit locks in DynamoDB table cf-locks-\w+ \(fencing token \d+\): its lease ran out .* 2 index record\(s\) were not written/,
    );
    const f = (await b.load(['f'])).get('f')!;
    expect(f.d1!.runId).toBe('run-new');
    expect(f.d2).toBeUndefined();
    // The old holder's release leaves the new holder's entry alone.
    await old();
    expect((await l.entries()).map((e) => e.runId)).toEqual(['run-new']);
    await next();
  });

  it('refreshes a held lease, and a run of thousands of units fits its entry', async () => {
    const l = locks(900);
    const many = unitSet(
      Array.from({ length: 20_000 }, (_, i) => ({ asset: `a${i % 20}`, partition: `2026-${i}` })),
    );
    const rel = await l.acquire('run-many', many, quiet());
    const first = (await l.entries())[0]!.expiresAt;
    await new Promise((r) => setTimeout(r, 1200));
    const [e] = await l.entries();
    expect(e!.expiresAt).toBeGreaterThan(first);
    expect(e!.expiresAt).toBeGreaterThan(Date.now());
    expect(Object.values(e!.units as Record<string, string[]>).flat()).toHaveLength(20_000);
    // A waiter on one of them is told, and does not take over a live (refreshed) entry.
    const q = quiet();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 1500);
    await expect(
      l.acquire('run-other', unitSet([{ asset: 'a3', partition: '2026-3' }]), { ...q, signal: ac.signal }),
    ).rejects.toThrow(/Cancelled while waiting for the unit locks/);
    expect(q.said.join('\n')).toMatch(/waiting for run run-many .* a3\[2026-3\]/);
    await rel();
  });
});
