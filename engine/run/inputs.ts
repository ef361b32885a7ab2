import type { LimitFunction } from 'p-limit';
import { NO_DATA, NoData, type AnyAsset, type Partitioned } from '../asset.ts';
import { ioFor, type Definitions } from '../definitions.ts';
import type { AssetGraph } from '../graph.ts';
import { MissingValueError } from '../io.ts';
import { inputKey } from '../staleness.ts';
import { ioContext } from './storage.ts';

/** Why an upstream unit recorded as having no data has none, if known. */
export type NoDataReason = (asset: string, partition: string) => string | undefined;

/** "no file in raw_x [2025-11-04]", "no data in y [a … b, 3 partitions] (reason)". */
export function noDataIn(
  graph: AssetGraph,
  assetKey: string,
  qs: readonly string[],
  reasonOf: NoDataReason,
): string {
  const up = graph.get(assetKey);
  const parts =
    qs.length === 1
      ? qs[0] === 'all'
        ? ''
        : ` [${qs[0]}]`
      : ` [${qs[0]} … ${qs.at(-1)}, ${qs.length} partitions]`;
  if (up.kind === 'source') return `no file in ${assetKey}${parts}`;
  const upReason = qs.length === 1 ? reasonOf(assetKey, qs[0]!) : undefined;
  return `no data in ${assetKey}${parts}${upReason !== undefined ? ` (${upReason})` : ''}`;
}

/**
 * Why a unit has no data because of its inputs, from their data versions: a required input whose
 * every upstream partition has no data (a source partition without files, a unit without data).
 */
export function absentInputs(
  graph: AssetGraph,
  asset: AnyAsset,
  partition: string,
  versions: Record<string, string | null>,
  reasonOf: NoDataReason,
): string | undefined {
  const why: string[] = [];
  for (const d of graph.depsOf(asset.key)) {
    if (d.optional || d.self) continue;
    const qs = d.mapping.upstream(partition);
    if (qs.length && qs.every((q) => versions[inputKey(d.name, q)] === NO_DATA))
      why.push(noDataIn(graph, d.assetKey, qs, reasonOf));
  }
  return why.length ? why.join('; ') : undefined;
}

export interface InputEnv {
  defs: Definitions;
  /** Bounds the input loads of a unit, and of the units sharing it (S3 listings are slow). */
  inputLimit: LimitFunction;
  signal: AbortSignal;
  reasonOf: NoDataReason;
}

/**
 * The inputs of a unit, or why it has no data: an input partition with no data (by its data version,
 * or a source found empty when resolved) is left out of a `many` input and is undefined for a `one`
 * input; a required input left with nothing gives the unit no data. `sources` gets the files' origins.
 */
export async function loadInputs(
  env: InputEnv,
  asset: AnyAsset,
  partition: string,
  sources: Set<string>,
  versions: Record<string, string | null>,
): Promise<Record<string, unknown> | NoData> {
  const { defs } = env;
  const { graph } = defs;
  const inputs: Record<string, unknown> = {};
  const absent: string[] = [];
  for (const d of graph.depsOf(asset.key)) {
    const up = graph.get(d.assetKey);
    const loadOne = async (
      q: string,
    ): Promise<{ found: boolean; absent?: boolean; lost?: boolean; value?: unknown }> => {
      const version = versions[inputKey(d.name, q)];
      if (version === NO_DATA) return { found: false, absent: true };
      if (up.kind === 'source') {
        const fs = await defs.sources.resolve(up.locate!(q), env.signal);
        sources.add(fs.origin);
        // Files removed since the plan observed them: no data, as if observed so.
        if (!fs.files.length) return { found: false, absent: true };
        return { found: true, value: fs };
      }
      try {
        return { found: true, value: await ioFor(defs, up).load(ioContext(up, q)) };
      } catch (err) {
        // Recorded with a data version but no longer stored (deleted behind the engine's back): lost, not
        // absent — computing without it would record that version as an input it never saw.
        if (err instanceof MissingValueError) return { found: false, lost: typeof version === 'string' };
        throw err;
      }
    };
    const missing = (q: string): Error =>
      new Error(
        `Input "${d.name}" (${d.assetKey} [${q}]) is missing: materialize it first, e.g. --select +${asset.key}`,
      );
    const qs = d.mapping.upstream(partition).filter((q) => !(d.self && q === partition));
    if (d.mapping.cardinality === 'many') {
      // A day's 24 hourly inputs are independent: load them a few at a time.
      const loaded = await env.inputLimit.map(qs, async (q) => ({ q, r: await loadOne(q) }));
      const lost = loaded.find(({ r }) => r.lost);
      if (lost) throw missing(lost.q);
      const values: Partitioned<unknown>[] = [];
      for (const { q, r } of loaded) if (r.found) values.push({ partitionKey: q, value: r.value });
      if (!d.optional && !d.self && qs.length && loaded.every(({ r }) => r.absent))
        absent.push(noDataIn(graph, d.assetKey, qs, env.reasonOf));
      inputs[d.name] = values;
    } else {
      const r = await loadOne(qs[0]!);
      if (r.absent && !d.optional && !d.self) absent.push(noDataIn(graph, d.assetKey, qs, env.reasonOf));
      else if (!r.found && (!d.optional || r.lost)) throw missing(qs[0]!);
      inputs[d.name] = r.value;
    }
  }
  return absent.length ? new NoData(absent.join('; ')) : inputs;
}
