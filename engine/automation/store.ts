/**
 * What automation keeps in the state dir (`<STATE_DIR>/automation/`):
 * - `cursor.json`: what the sensor saw (source → partition → data version) and the last tick handled of
 *   each schedule, rewritten atomically after each evaluation whose runs ended;
 * - `decisions.jsonl`: one line per decision (append-only; rotated to `decisions.1.jsonl` past 8 MB).
 */
import { appendFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic.ts';

export const cursorSchema = z.object({
  version: z.literal(1),
  /** Source key → partition → data version of the partitions that had data. */
  sources: z.record(z.string(), z.record(z.string(), z.string())),
  /** Source key → data version of its whole folder tree when last scanned (sensor.ts fast path). */
  roots: z.record(z.string(), z.string()).optional(),
  /** `<asset> <cron> <partitions> <zone>` (cron.ts `scheduleId`) → ISO instant of the last tick handled. */
  cron: z.record(z.string(), z.string()),
  /** ISO instant of the last evaluation saved. */
  evaluatedAt: z.string().optional(),
});
export type AutomationCursor = z.infer<typeof cursorSchema>;

export const emptyCursor = (): AutomationCursor => ({ version: 1, sources: {}, cron: {} });

/** One decision of an evaluation: what was looked at, and what it led to. */
export interface DecisionRecord {
  type: 'decision';
  /** Instant of the evaluation (the injected clock). */
  at: string;
  /** Evaluation number in this daemon process (1 = startup). */
  tick: number;
  condition: 'sensor' | 'eager' | 'cron' | 'freshness';
  /** The asset (and schedule) it is about, if one. */
  asset?: string;
  /** `run`: units requested; `wait`: not yet (incomplete inputs, a stale upstream…); `skip`: nothing to do; `warn`: freshness. */
  outcome: 'run' | 'wait' | 'skip' | 'warn' | 'info';
  reason: string;
  /** The units requested (`asset[partition]`). */
  units?: string[];
}

/** A run the daemon started for requests, and how it ended. */
export interface RunRecord {
  type: 'run';
  at: string;
  tick: number;
  runId: string;
  command: string;
  status: 'success' | 'failed' | 'cancelled' | 'error';
  materialized?: number;
  skipped?: number;
  failed?: number;
  error?: string;
}

export type AutomationLogRecord = DecisionRecord | RunRecord;

const dirOf = (stateDir: string) => join(stateDir, 'automation');
export const cursorPath = (stateDir: string) => join(dirOf(stateDir), 'cursor.json');
export const decisionsPath = (stateDir: string) => join(dirOf(stateDir), 'decisions.jsonl');
const ROTATE_BYTES = 8 * 1024 * 1024;

/** The stored cursor, or an empty one; an unreadable file is an error naming it. */
export async function readCursor(stateDir: string): Promise<AutomationCursor> {
  const path = cursorPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyCursor();
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const r = cursorSchema.safeParse(parsed);
  if (!r.success)
    throw new Error(
      `Automation cursor ${path} is unreadable; delete it to start afresh (every raw partition is then new)`,
    );
  return r.data;
}

export async function writeCursor(stateDir: string, cursor: AutomationCursor): Promise<void> {
  await writeFileAtomic(cursorPath(stateDir), JSON.stringify(cursor));
}

export async function appendLog(stateDir: string, records: readonly AutomationLogRecord[]): Promise<void> {
  if (!records.length) return;
  const path = decisionsPath(stateDir);
  await mkdir(dirOf(stateDir), { recursive: true });
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (size > ROTATE_BYTES) await rename(path, join(dirOf(stateDir), 'decisions.1.jsonl'));
  await appendFile(path, records.map((r) => JSON.stringify(r) + '\n').join(''));
}

/** The last `limit` records of the decisions log (a torn last line is skipped). */
export async function readLog(stateDir: string, limit = 500): Promise<AutomationLogRecord[]> {
  let text: string;
  try {
    text = await readFile(decisionsPath(stateDir), 'utf8');
  } catch {
    return [];
  }
  const out: AutomationLogRecord[] = [];
  for (const line of text.split('\n').slice(-limit - 1)) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as AutomationLogRecord);
    } catch {
      // torn line after a kill
    }
  }
  return out.slice(-limit);
}
