/**
 * Automation declared on assets (issue 17): when a partition should be materialized without anyone
 * typing `pipeline materialize`. Declarations are plain data, validated when the definitions load (a bad
 * cron text or duration is a `DefinitionError` naming the asset); the evaluator (evaluate.ts) reads them.
 *
 * - `eager()`: materialize a partition as soon as its inputs changed and are complete.
 * - `onCron(expr, { partitions })`: on each tick of a cron schedule, in the zone of the asset's partitions.
 * - `freshness({ maxLag })`: warn when the latest partition is older than that.
 */
import { Cron } from 'croner';
import type { AnyAsset } from '../asset.ts';
import { DefinitionError } from '../definition-error.ts';
import type { PartitionsDef } from '../partitions.ts';
import { checkTimeZone } from '../time-zone.ts';

/**
 * What "complete" means before the first build of a partition (once it has been built, any change of
 * its inputs rebuilds it: a late file updates what was built without it):
 * - `all-inputs` (default): every upstream partition it reads directly has data (Dagster's eager);
 * - `any-input`: as soon as one of them has data (follow raw data hour by hour);
 * - `all-sources`: every raw (source) partition it reads, through the whole graph, has data (e.g. a
 *   day's report waits for the day's 24 hours of every source).
 */
export type EagerRequire = 'all-inputs' | 'any-input' | 'all-sources';

export interface EagerAutomation {
  readonly kind: 'eager';
  readonly require: EagerRequire;
}

/** Which partitions a cron tick requests, read in the zone of the asset's partitions at the tick. */
export type CronPartitions = 'yesterday' | 'today' | 'latest';

export interface CronAutomation {
  readonly kind: 'cron';
  /** 5 fields (minute hour day month weekday), or 6 with seconds first. */
  readonly cron: string;
  readonly partitions: CronPartitions;
  /** IANA zone of the schedule: given, else the asset's partitions' zone, else Europe/Paris. */
  readonly timezone?: string;
}

export interface FreshnessPolicy {
  readonly kind: 'freshness';
  /** As written (`26h`). */
  readonly maxLag: string;
  readonly maxLagMs: number;
}

export type Automation = EagerAutomation | CronAutomation | FreshnessPolicy;

const REQUIRES: readonly EagerRequire[] = ['all-inputs', 'any-input', 'all-sources'];
const CRON_PARTITIONS: readonly CronPartitions[] = ['yesterday', 'today', 'latest'];

export function eager(opts: { require?: EagerRequire } = {}): EagerAutomation {
  const require = opts.require ?? 'all-inputs';
  if (!REQUIRES.includes(require))
    throw new DefinitionError(`eager({ require: "${String(require)}" }): use one of ${REQUIRES.join(', ')}`);
  return Object.freeze({ kind: 'eager', require });
}

/**
 * A cron schedule. `partitions`: `yesterday` (the day before the tick's day, in the schedule's zone),
 * `today` (the tick's day), `latest` (the last partition whose window ended by the tick: the previous
 * hour of an hourly asset, the previous day of a daily one). Default `yesterday`.
 */
export function onCron(
  cron: string,
  opts: { partitions?: CronPartitions; timezone?: string } = {},
): CronAutomation {
  const partitions = opts.partitions ?? 'yesterday';
  if (!CRON_PARTITIONS.includes(partitions))
    throw new DefinitionError(
      `onCron('${cron}', { partitions: "${String(partitions)}" }): use one of ${CRON_PARTITIONS.join(', ')}`,
    );
  const bad = cronError(cron, opts.timezone ?? 'UTC');
  if (bad) throw new DefinitionError(`onCron('${cron}'): ${bad}`);
  return Object.freeze({
    kind: 'cron',
    cron: cron.trim(),
    partitions,
    ...(opts.timezone !== undefined && { timezone: opts.timezone }),
  });
}

export function freshness(opts: { maxLag: string }): FreshnessPolicy {
  const ms = parseDuration(opts.maxLag);
  if (ms === null || ms <= 0)
    throw new DefinitionError(
      `freshness({ maxLag: "${String(opts.maxLag)}" }): not a duration; write e.g. 26h, 90m, 2d, 1d12h, 45s`,
    );
  return Object.freeze({ kind: 'freshness', maxLag: opts.maxLag, maxLagMs: ms });
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** `26h`, `90m`, `1d12h`, `30s`, `500ms` → milliseconds; null when it is not such a duration. */
export function parseDuration(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const s = text.trim();
  if (!/^(\d+(ms|d|h|m|s))+$/.test(s)) return null;
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|d|h|m|s)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Number.isSafeInteger(total) ? total : null;
}

/** Null when `cron` is a cron expression croner accepts (5 or 6 fields), else why not. */
export function cronError(cron: unknown, timezone: string): string | null {
  if (typeof cron !== 'string' || !cron.trim()) return 'empty cron expression';
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6)
    return `${fields} fields: write 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`;
  const zone = checkTimeZone(timezone);
  if (zone) return zone;
  try {
    // The zone is checked above; the pattern is checked without it (a zone costs croner a formatter).
    new Cron(cron.trim(), { paused: true }).nextRun();
    return null;
  } catch (err) {
    return `bad cron expression (${(err as Error).message})`;
  }
}

/** The zone of an asset's schedules: its time partitions' zone, else Europe/Paris. */
export const scheduleZone = (partitions: PartitionsDef | undefined, c?: CronAutomation): string =>
  c?.timezone ?? (partitions && partitions.kind !== 'static' ? partitions.timezone : 'Europe/Paris');

/**
 * Checks an asset's declarations against the asset (called by `defineAsset` and `withAutomation`): one
 * eager at most, one freshness at most, cron partitions only on time partitions, a cron zone that exists.
 */
export function checkAutomation(
  key: string,
  partitions: PartitionsDef | undefined,
  automation: Automation | readonly Automation[] | undefined,
): readonly Automation[] {
  if (automation === undefined) return [];
  const list = Array.isArray(automation) ? automation : [automation as Automation];
  const where = `Asset "${key}" automation`;
  const count = (k: Automation['kind']) => list.filter((a) => a?.kind === k).length;
  for (const a of list) {
    if (!a || !['eager', 'cron', 'freshness'].includes((a as Automation).kind))
      throw new DefinitionError(`${where}: use eager(), onCron(…) or freshness(…), not ${JSON.stringify(a)}`);
    if (a.kind === 'cron') {
      const tz = scheduleZone(partitions, a);
      const bad = cronError(a.cron, tz);
      if (bad) throw new DefinitionError(`${where}: onCron('${a.cron}') in ${tz}: ${bad}`);
      if (partitions?.kind === 'static' && a.partitions !== 'latest')
        throw new DefinitionError(
          `${where}: onCron('${a.cron}', { partitions: '${a.partitions}' }) needs time partitions (it has static ones)`,
        );
    }
  }
  if (count('eager') > 1) throw new DefinitionError(`${where}: eager() is declared twice`);
  if (count('freshness') > 1) throw new DefinitionError(`${where}: freshness() is declared twice`);
  return Object.freeze([...list]);
}

/**
 * The same asset with automation declared (replacing any it had): for a project that keeps its schedules
 * in one module, apart from the assets' code (their code versions then do not change with the schedule).
 * The copy keeps the asset's lazily computed properties (code version) as they are.
 */
export function withAutomation<A extends AnyAsset>(
  asset: A,
  automation: Automation | readonly Automation[],
): A {
  if (asset.kind === 'source')
    throw new DefinitionError(
      `Source "${asset.key}": sources are observed by the daemon's sensor, they take no automation`,
    );
  const checked = checkAutomation(asset.key, asset.partitions, automation);
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(asset)) as A;
  Object.defineProperty(copy, 'automation', { value: checked, enumerable: true });
  return copy;
}

export const automationOf = (a: AnyAsset): readonly Automation[] => a.automation ?? [];
