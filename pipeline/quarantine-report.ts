/**
 * `pipeline quarantine`: what the last materializations set aside, per asset and partition, read from
 * the quarantine files (`<OUTPUT_DIR>/_quarantine/<asset>/<partition>.ndjson`, plus `batch.ndjson` for
 * records no day could be given) and the exact per-reason counts of the state index (a file keeps at
 * most 10,000 records; the counts are exact).
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { QuarantineRecord, StateStore } from '../engine/index.ts';

export interface QuarantineUnit {
  asset: string;
  /** Partition key, or `batch` for records not attributable to a partition. */
  partition: string;
  file: string;
  /** Exact counts by reason (from the state index when it has them, else counted in the file). */
  counts: Record<string, number>;
  /** Records kept in the file (all of them unless more than 10,000 were rejected). */
  kept: number;
  /** The first `show` records (of `reason` when given), in file order. */
  records: QuarantineRecord[];
}

export interface QuarantineQuery {
  /** `<OUTPUT_DIR>/_quarantine`. */
  dir: string;
  state: StateStore;
  /** Assets to report (all when absent). */
  assets?: ReadonlySet<string>;
  /** Keep partitions whose day (a key starting YYYY-MM-DD) is within [from, to]; keys without a day always. */
  days?: { from: string; to: string };
  reason?: string;
  /** Records to return per unit. */
  show: number;
}

/** `<partition>.ndjson`: a day, an hour, `all` (unpartitioned), any other key, or `batch`. */
const PARTITION_FILE = /^([^.][^/]*)\.ndjson$/;
const DAY_PREFIX = /^\d{4}-\d{2}-\d{2}/;

async function dirNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function readQuarantine(q: QuarantineQuery): Promise<QuarantineUnit[]> {
  const out: QuarantineUnit[] = [];
  const assets = await dirNames(q.dir);
  await q.state.load(assets.filter((a) => !q.assets || q.assets.has(a)));
  for (const asset of assets) {
    if (q.assets && !q.assets.has(asset)) continue;
    for (const name of await dirNames(join(q.dir, asset))) {
      const m = PARTITION_FILE.exec(name);
      if (!m) continue;
      const partition = m[1]!;
      // Keys without a day (batch, unpartitioned `all`, static keys) are kept whatever the days asked.
      const day = DAY_PREFIX.exec(partition)?.[0];
      if (day && q.days && (day < q.days.from || day > q.days.to)) continue;
      const file = join(q.dir, asset, name);
      const fileCounts: Record<string, number> = {};
      const records: QuarantineRecord[] = [];
      let kept = 0;
      const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      for await (const line of lines) {
        if (!line.trim()) continue;
        const rec = JSON.parse(line) as QuarantineRecord;
        kept++;
        fileCounts[rec.reason] = (fileCounts[rec.reason] ?? 0) + 1;
        if (records.length < q.show && (!q.reason || rec.reason === q.reason)) records.push(rec);
      }
      const counts = q.state.get(asset, partition)?.metadata?.quarantined ?? fileCounts;
      if (q.reason && !counts[q.reason]) continue;
      out.push({ asset, partition, file, counts, kept, records });
    }
  }
  return out;
}

const countsText = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([r, n]) => `${r} ${n.toLocaleString('en-US')}`)
    .join(', ');

const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** Plain text: one line per unit, its first records indented, then the totals. */
export function formatQuarantine(units: QuarantineUnit[]): string[] {
  if (!units.length) return ['Nothing quarantined.'];
  const lines: string[] = [];
  const all: Record<string, number> = {};
  for (const u of units) {
    const n = total(u.counts);
    const partial = u.kept < n ? ` (first ${u.kept.toLocaleString('en-US')} kept)` : '';
    lines.push(
      `${u.asset}[${u.partition}] ${n.toLocaleString('en-US')}: ${countsText(u.counts)}  ${u.file}${partial}`,
    );
    for (const r of u.records) {
      const detail = r.detail ? `  ${r.detail}` : '';
      const raw = r.raw ? `  | ${r.raw.length > 120 ? r.raw.slice(0, 120) + '…' : r.raw}` : '';
      lines.push(`    ${r.file}:${r.line}  ${r.reason}${detail}${raw}`);
    }
    for (const [reason, c] of Object.entries(u.counts)) all[reason] = (all[reason] ?? 0) + c;
  }
  lines.push(
    `Total: ${total(all).toLocaleString('en-US')} records in ${units.length} unit${units.length === 1 ? '' : 's'} (${countsText(all)})`,
  );
  return lines;
}
