/**
 * `pipeline automation status [--json]`: what is declared, the schedules' next ticks, the last
 * evaluation and why each decision did or did not start a run, the last runs the daemon started,
 * freshness, and whether a daemon is running on this state dir. Reads the state dir only.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  automationOf,
  freshnessOf,
  isLockHolderAlive,
  nextTick,
  readCursor,
  readLog,
  scheduleId,
  scheduleZone,
  type DecisionRecord,
  type FreshnessStatus,
  type LockHolder,
  type RunRecord,
} from '../../engine/index.ts';
import type { Runtime } from '../runtime.ts';
import { DAEMON_LOCK } from './daemon.ts';

export interface AutomationStatus {
  daemon: { running: boolean; pid?: number; since?: string };
  cursor: { evaluatedAt?: string; rawPartitionsSeen: number };
  eager: { asset: string; require: string }[];
  schedules: {
    asset: string;
    cron: string;
    timezone: string;
    partitions: string;
    lastTick?: string;
    nextTick?: string;
  }[];
  freshness: FreshnessStatus[];
  lastEvaluation?: { tick: number; at: string; decisions: DecisionRecord[] };
  /** The latest decision about each asset × condition (run, wait or skip), newest first. */
  latestByAsset: DecisionRecord[];
  runs: RunRecord[];
}

export async function automationStatus(rt: Runtime, now = Date.now()): Promise<AutomationStatus> {
  const { graph } = rt.defs;
  const stateDir = rt.config.stateDir;
  const state = await rt.openState();
  const cursor = await readCursor(stateDir);
  const log = await readLog(stateDir, 2000);
  const eager: AutomationStatus['eager'] = [];
  const schedules: AutomationStatus['schedules'] = [];
  const freshness: FreshnessStatus[] = [];
  for (const key of graph.order) {
    const a = graph.get(key);
    for (const x of automationOf(a)) {
      if (x.kind === 'eager') eager.push({ asset: key, require: x.require });
      if (x.kind === 'freshness') freshness.push(freshnessOf(a, x, state, now));
      if (x.kind === 'cron') {
        const tz = scheduleZone(a.partitions, x);
        const last = cursor.cron[scheduleId(key, x, tz)];
        const next = nextTick(x, tz, last ? Math.max(Date.parse(last), now) : now);
        schedules.push({
          asset: key,
          cron: x.cron,
          timezone: tz,
          partitions: x.partitions,
          ...(last && { lastTick: last }),
          ...(next !== null && { nextTick: new Date(next).toISOString() }),
        });
      }
    }
  }
  const decisions = log.filter((r): r is DecisionRecord => r.type === 'decision');
  const last = decisions.at(-1);
  const lastEvaluation = last && {
    tick: last.tick,
    at: last.at,
    decisions: decisions.filter((d) => d.at === last.at && d.tick === last.tick),
  };
  const latest = new Map<string, DecisionRecord>();
  for (const d of decisions)
    if (d.asset && d.condition !== 'freshness') latest.set(`${d.asset}|${d.condition}`, d);
  return {
    daemon: await daemonHolder(stateDir),
    cursor: {
      ...(cursor.evaluatedAt && { evaluatedAt: cursor.evaluatedAt }),
      rawPartitionsSeen: Object.values(cursor.sources).reduce((n, s) => n + Object.keys(s).length, 0),
    },
    eager,
    schedules,
    freshness,
    ...(lastEvaluation && { lastEvaluation }),
    latestByAsset: [...latest.values()].sort((x, y) => (x.at < y.at ? 1 : -1)),
    runs: log
      .filter((r): r is RunRecord => r.type === 'run')
      .slice(-10)
      .reverse(),
  };
}

async function daemonHolder(stateDir: string): Promise<AutomationStatus['daemon']> {
  const path = join(stateDir, 'automation', DAEMON_LOCK);
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const h = JSON.parse(text) as LockHolder;
    const running = isLockHolderAlive(path, h, Date.now() - st.mtimeMs);
    return { running, ...(h.pid && { pid: h.pid }), ...(h.at && { since: h.at }) };
  } catch {
    return { running: false };
  }
}

/** The human form: a few sections, one line per item. */
export function formatStatus(s: AutomationStatus): string[] {
  const out: string[] = [];
  out.push(
    s.daemon.running
      ? `Daemon: running (pid ${s.daemon.pid}, since ${s.daemon.since})`
      : 'Daemon: not running (start it with `pipeline daemon`)',
  );
  out.push(
    `Sensor: ${s.cursor.rawPartitionsSeen} raw partitions with data seen, last evaluation stored ${s.cursor.evaluatedAt ?? 'never'}`,
  );
  out.push('', 'Eager:');
  if (!s.eager.length) out.push('  (none declared)');
  for (const e of s.eager) out.push(`  ${e.asset.padEnd(24)} ${e.require}`);
  out.push('', 'Schedules:');
  if (!s.schedules.length) out.push('  (none declared)');
  for (const c of s.schedules)
    out.push(
      `  ${c.asset.padEnd(24)} '${c.cron}' ${c.timezone} (${c.partitions}): next tick ${c.nextTick ?? 'none'}, last handled ${c.lastTick ?? 'never'}`,
    );
  out.push('', 'Freshness:');
  if (!s.freshness.length) out.push('  (none declared)');
  for (const f of s.freshness) out.push(`  ${f.ok ? '✓' : '⚠'} ${f.message}`);
  const older = s.latestByAsset.filter((d) => d.at !== s.lastEvaluation?.at);
  out.push('', 'Earlier decisions (the latest per asset, not in the last evaluation):');
  if (!older.length) out.push('  (none)');
  for (const d of older) out.push(`  ${d.at} ${d.condition} ${d.asset} ${d.outcome}: ${d.reason}`);
  if (s.lastEvaluation) {
    out.push('', `Last evaluation (tick ${s.lastEvaluation.tick}, ${s.lastEvaluation.at}):`);
    for (const d of s.lastEvaluation.decisions)
      out.push(`  ${d.condition}${d.asset ? ` ${d.asset}` : ''} ${d.outcome}: ${d.reason}`);
  }
  out.push('', 'Runs started by the daemon (newest first):');
  if (!s.runs.length) out.push('  (none)');
  for (const r of s.runs)
    out.push(
      `  ${r.at} ${r.runId} ${r.status}${r.materialized !== undefined ? ` ✓${r.materialized} ↷${r.skipped} ✗${r.failed}` : ''}  ${r.command}${r.error ? ` (${r.error})` : ''}`,
    );
  return out;
}
