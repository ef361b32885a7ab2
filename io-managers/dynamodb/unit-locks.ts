/**
 * Unit locks in a DynamoDB table, for coordinators on several machines (SHARED_STATE=dynamodb): the
 * semantics of engine/unit-locks.ts — a run takes all its units at once or waits (saying for whom), runs
 * on disjoint units go on at the same time, no deadlock — with a lease instead of a pid check, and a
 * fencing token.
 *
 * Items (`pk`, `sk`):
 * - `#version` / `#`: `v`, a counter every acquisition increments. Taking units is optimistic: read `v`
 *   and every entry, check that no live entry holds one of the units, then one TransactWriteItems that
 *   sets `v` to `v + 1` on condition that it is still `v`, and puts the run's entry. Two runs that
 *   checked at the same time cannot both succeed (the second's condition fails: it checks again), so the
 *   check-and-take is atomic as under the local table's short lock. The new `v` is the run's
 *   **fencing token**: monotonic, never given twice.
 * - `entry` / `<run id>#000`, `#001`, …: the run's entry, its unit set as gzipped JSON cut into items
 *   of ≤ 350 KB (all put in the acquiring transaction), the head item with `token`, `expiresAt` (epoch
 *   ms), `leaseMs` and the holder (host, pid, note).
 *
 * The holder refreshes `expiresAt` every third of the lease (on condition that its token is still
 * there). An entry whose `expiresAt` has passed belongs to a holder that is gone (killed, cut off,
 * paused): the next run that needs its units deletes it in its acquiring transaction (on condition that
 * `expiresAt` did not move). The index writes of a run check its entry and token
 * (io-managers/dynamodb/index-backend.ts), so a holder that comes back after losing its entry writes
 * nothing. Clocks of the machines must agree to well within the lease.
 */
import { hostname } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DeleteCommand,
  GetCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import {
  describeOverlap,
  overlap,
  sizeOf,
  unitsRecord,
  type UnitLockEntry,
  type UnitLockRelease,
  type UnitSet,
} from '../../engine/unit-locks.ts';
import { cancellationCodes, stateTableError } from './state-tables.ts';

const VERSION_KEY = { pk: '#version', sk: '#' } as const;
const ENTRY_PK = 'entry';
const CHUNK_BYTES = 350_000;
/** Room in one transaction for the version update, the entry's chunks and expired entries' deletes. */
const MAX_TX_ACTIONS = 100;
const POLL_MS = 500;

export const lockEntryKey = (runId: string, chunk = 0): { pk: string; sk: string } => ({
  pk: ENTRY_PK,
  sk: `${runId}#${String(chunk).padStart(3, '0')}`,
});

interface Entry {
  runId: string;
  token: number;
  expiresAt: number;
  leaseMs: number;
  host?: string;
  pid?: number;
  note?: string;
  units: UnitLockEntry['units'];
  /** Every item's sort key. */
  sks: string[];
}

export interface DynamoUnitLocksOptions {
  doc: DynamoDBDocumentClient;
  table: string;
  /** How long an entry lives without a refresh. */
  leaseMs: number;
}

/** How a run waits for its units: told for whom it waits, and (once held) when it lost them. */
export interface AcquireOptions {
  onWait: (msg: string) => void;
  onLost?: (msg: string) => void;
  signal?: AbortSignal;
  note?: string;
}

export class DynamoUnitLocks {
  readonly where: string;

  constructor(private readonly opts: DynamoUnitLocksOptions) {
    this.where = `DynamoDB table ${opts.table}`;
  }

  /** Every entry of the table, as stored now. */
  async entries(): Promise<Entry[]> {
    type RunItems = { head?: Record<string, unknown>; chunks: Map<number, Uint8Array>; sks: string[] };
    const byRun = new Map<string, RunItems>();
    const pages = paginateQuery(
      { client: this.opts.doc },
      {
        TableName: this.opts.table,
        KeyConditionExpression: 'pk = :e',
        ExpressionAttributeValues: { ':e': ENTRY_PK },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const m = /^(.+)#(\d{3})$/.exec(String(item.sk));
        if (!m) continue;
        const run: RunItems = byRun.get(m[1]!) ?? { chunks: new Map(), sks: [] };
        byRun.set(m[1]!, run);
        run.sks.push(String(item.sk));
        if (m[2] === '000') run.head = item;
        if (item.u instanceof Uint8Array) run.chunks.set(Number(m[2]), item.u);
      }
    }
    const out: Entry[] = [];
    for (const [runId, { head, chunks, sks }] of byRun) {
      if (!head) {
        // Chunks without their head: left by a release cut short. Nobody holds them.
        out.push({ runId, token: 0, expiresAt: 0, leaseMs: 0, units: {}, sks });
        continue;
      }
      const n = Number(head.chunks ?? 1);
      let units: Entry['units'] = 'all';
      if (chunks.size === n) {
        const parts = [...Array(n).keys()].map((i) => chunks.get(i)!);
        try {
          units = JSON.parse(gunzipSync(Buffer.concat(parts)).toString('utf8')) as Entry['units'];
        } catch {
          // Unreadable: counted as holding everything until its lease runs out.
        }
      }
      out.push({
        runId,
        token: Number(head.token),
        expiresAt: Number(head.expiresAt),
        leaseMs: Number(head.leaseMs),
        ...(typeof head.host === 'string' && { host: head.host }),
        ...(typeof head.pid === 'number' && { pid: head.pid }),
        ...(typeof head.note === 'string' && { note: head.note }),
        units,
        sks,
      });
    }
    return out;
  }

  /**
   * Takes the units of `units` for run `runId`: all of them, once no live entry holds any. Says once
   * (through `onWait`) for which runs it waits, and when it takes over an entry whose lease ran out.
   * Returns the release, which carries the fencing token; `onLost` is told if the entry is found taken
   * over while held (the run's index writes then fail).
   */
  async acquire(runId: string, units: UnitSet, opts: AcquireOptions): Promise<UnitLockRelease> {
    try {
      return await this.take(runId, units, opts);
    } catch (err) {
      if (
        (err as Error).message.startsWith('Cancelled while waiting') ||
        (err as Error).message.includes('too many units')
      )
        throw err;
      throw stateTableError(err, this.opts.table, 'taking the unit locks');
    }
  }

  private async take(runId: string, units: UnitSet, opts: AcquireOptions): Promise<UnitLockRelease> {
    const packed = gzipSync(JSON.stringify(unitsRecord(units)));
    const chunks: Buffer[] = [];
    for (let i = 0; i < packed.length || i === 0; i += CHUNK_BYTES)
      chunks.push(packed.subarray(i, i + CHUNK_BYTES));
    if (chunks.length > MAX_TX_ACTIONS - 1)
      throw new Error(
        `run ${runId} builds too many units to lock in ${this.where} (${sizeOf(units)} units, ${packed.length} bytes packed): select fewer assets or days per run`,
      );
    const count = units === 'all' ? -1 : sizeOf(units);
    let told = '';
    for (;;) {
      const version = await this.opts.doc.send(
        new GetCommand({ TableName: this.opts.table, Key: VERSION_KEY, ConsistentRead: true }),
      );
      const v = version.Item ? Number(version.Item.v) : undefined;
      const now = Date.now();
      const blockers: (Entry & { count: number; sample: string[] })[] = [];
      const expired: Entry[] = [];
      let mineBefore: Entry | undefined;
      for (const e of await this.entries()) {
        if (e.runId === runId) mineBefore = e;
        else if (e.expiresAt <= now) expired.push(e);
        else {
          const o = overlap(units, e);
          if (o) blockers.push({ ...e, ...o });
        }
      }
      if (!blockers.length) {
        const token = (v ?? 0) + 1;
        const expiresAt = Date.now() + this.opts.leaseMs;
        const own = chunks.map((u, i) => lockEntryKey(runId, i).sk);
        const actions: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
          {
            Put: {
              TableName: this.opts.table,
              Item: { ...VERSION_KEY, v: token },
              ConditionExpression: v === undefined ? 'attribute_not_exists(pk)' : 'v = :v',
              ...(v !== undefined && { ExpressionAttributeValues: { ':v': v } }),
            },
          },
          ...chunks.map((u, i) => ({
            Put: {
              TableName: this.opts.table,
              Item: {
                ...lockEntryKey(runId, i),
                u,
                ...(i === 0 && {
                  token,
                  expiresAt,
                  leaseMs: this.opts.leaseMs,
                  chunks: chunks.length,
                  count,
                  host: hostname(),
                  pid: process.pid,
                  at: new Date().toISOString(),
                  ...(opts.note && { note: opts.note }),
                }),
              },
            },
          })),
          ...(mineBefore?.sks ?? [])
            .filter((sk) => !own.includes(sk))
            .map((sk) => ({ Delete: { TableName: this.opts.table, Key: { pk: ENTRY_PK, sk } } })),
        ];
        const takeOver: Entry[] = [];
        for (const e of expired) {
          if (actions.length + e.sks.length > MAX_TX_ACTIONS) break; // the rest at a later acquisition
          takeOver.push(e);
          for (const sk of e.sks)
            actions.push({
              Delete: {
                TableName: this.opts.table,
                Key: { pk: ENTRY_PK, sk },
                ...(sk.endsWith('#000') && {
                  ConditionExpression: 'expiresAt = :x',
                  ExpressionAttributeValues: { ':x': e.expiresAt },
                }),
              },
            });
        }
        try {
          await this.opts.doc.send(new TransactWriteCommand({ TransactItems: actions }));
        } catch (err) {
          const codes = cancellationCodes(err);
          // Another run took or refreshed an entry meanwhile: look again.
          if (!codes?.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict')) throw err;
          if (opts.signal?.aborted)
            throw new Error('Cancelled while waiting for the unit locks', { cause: err });
          await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
          continue;
        }
        for (const e of takeOver)
          if (e.token)
            opts.onWait(
              `took over the unit locks of run ${e.runId}${holderOf(e)} in ${this.where}: its lease ran out at ` +
                `${new Date(e.expiresAt).toISOString()} (that coordinator is gone, cut off or paused)`,
            );
        return this.held(runId, token, opts.onLost);
      }
      const key = blockers.map((b) => b.runId).join(',');
      if (key !== told) {
        told = key;
        for (const b of blockers) {
          opts.onWait(
            `waiting for run ${b.runId}${holderOf(b)} to release the unit locks of ${describeOverlap(b)} in ${this.where}; ` +
              `it is taken to be gone if its lease (${b.leaseMs / 1000} s) runs out` +
              (b.note ? ` (${b.note})` : ''),
          );
        }
      }
      if (opts.signal?.aborted) throw new Error('Cancelled while waiting for the unit locks');
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Keeps the entry's lease fresh until released; the release deletes the entry if it is still ours. */
  private held(runId: string, token: number, onLost?: (msg: string) => void): UnitLockRelease {
    const head = lockEntryKey(runId);
    let lost = false;
    const lostSignal = new AbortController();
    const refresh = async (): Promise<void> => {
      try {
        await this.opts.doc.send(
          new UpdateCommand({
            TableName: this.opts.table,
            Key: head,
            UpdateExpression: 'SET expiresAt = :x',
            ConditionExpression: 'attribute_exists(pk) AND #t = :t',
            ExpressionAttributeNames: { '#t': 'token' },
            ExpressionAttributeValues: { ':x': Date.now() + this.opts.leaseMs, ':t': token },
          }),
        );
      } catch (err) {
        if ((err as Error).name !== 'ConditionalCheckFailedException') return; // tried again next time
        lost = true;
        clearInterval(timer);
        const msg =
          `run ${runId} lost its unit locks in ${this.where}: its lease ran out and another run took its ` +
          `units over; what it records now is refused`;
        onLost?.(msg);
        lostSignal.abort(new Error(msg));
      }
    };
    const timer = setInterval(() => void refresh(), Math.max(200, Math.floor(this.opts.leaseMs / 3)));
    timer.unref();
    const release = async (): Promise<void> => {
      clearInterval(timer);
      if (lost) return;
      const mine = (await this.entries()).find((e) => e.runId === runId && e.token === token);
      if (!mine) return;
      // The head last, on condition of the token: a later holder of this run id is left alone.
      for (const sk of mine.sks.filter((s) => s !== head.sk))
        await this.opts.doc.send(
          new DeleteCommand({ TableName: this.opts.table, Key: { pk: ENTRY_PK, sk } }),
        );
      await this.opts.doc
        .send(
          new DeleteCommand({
            TableName: this.opts.table,
            Key: head,
            ConditionExpression: '#t = :t',
            ExpressionAttributeNames: { '#t': 'token' },
            ExpressionAttributeValues: { ':t': token },
          }),
        )
        .catch((err: Error) => {
          if (err.name !== 'ConditionalCheckFailedException') throw err;
        });
    };
    return Object.assign(release, { fence: { runId, token }, lost: lostSignal.signal });
  }
}

const holderOf = (e: Pick<Entry, 'pid' | 'host'>): string =>
  e.pid ? ` (pid ${e.pid}${e.host ? ` on ${e.host}` : ''})` : '';
