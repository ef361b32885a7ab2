import type { AnyAsset, CheckResult } from '../asset.ts';
import type { IOContext, IOManager, StoreResult } from '../io.ts';
import { ioFor, type Definitions } from '../definitions.ts';
import type { MaterializedMetadata } from '../events.ts';
import type { UnitHooks, UnitJob, UnitReport } from '../executor.ts';
import { isArrowTable } from '../arrow.ts';
import { encodeInto, encodeValue, formatOf } from '../encode.ts';
import type { QuarantineCollector } from '../quarantine.ts';
import { maskSecrets } from '../redact.ts';
import type { StoredCheckResult } from '../state.ts';
import { isTableSchema } from '../table.ts';
import { errorMessage, summarizeZod } from './errors.ts';
import { ioContext, writeQuarantine } from './storage.ts';

export interface Computed {
  meta: Record<string, unknown>;
  quarantine: QuarantineCollector;
  /** Batch assets: records no partition could be given (an unreadable file fails every partition). */
  shared?: QuarantineCollector;
  sources: Set<string>;
  t0: number;
}

/** Validates, stores and checks one computed value; what the scheduler's side records of it. */
export async function finish(
  defs: Definitions,
  job: UnitJob,
  hooks: UnitHooks,
  asset: AnyAsset,
  partition: string,
  value: unknown,
  extra: Computed,
): Promise<UnitReport> {
  // An input file that could not be read as its format at all (a record at line 0) fails the unit:
  // a value built from the other files would be silently emptier. The previous value stays.
  const unreadable = [...extra.quarantine.records, ...(extra.shared?.records ?? [])].filter(
    (r) => r.line === 0,
  );
  if (unreadable.length) {
    await writeQuarantine(job.quarantineDir, asset.key, partition, extra.quarantine);
    if (extra.shared?.total) await writeQuarantine(job.quarantineDir, asset.key, 'batch', extra.shared);
    const files = unreadable
      .slice(0, 3)
      .map((r) => `${r.file} (${r.reason}${r.detail ? `: ${r.detail}` : ''})`);
    throw new Error(
      `${unreadable.length} input file${unreadable.length > 1 ? 's' : ''} could not be read as ${unreadable.length > 1 ? 'their' : 'its'} format: ` +
        `${files.join('; ')}${unreadable.length > 3 ? '; …' : ''}. Nothing stored (an earlier value stays); ` +
        `fix or remove the file, then run again (\`pipeline quarantine --select ${asset.key}\`)`,
    );
  }
  // A table schema may check asynchronously (columns declared as a function of apache-arrow).
  const parsed = !asset.schema
    ? { success: true as const, data: value }
    : isTableSchema(asset.schema)
      ? await asset.schema.safeParseAsync(value)
      : asset.schema.safeParse(value);
  if (!parsed.success)
    throw new Error(`Output of ${asset.key} does not match its schema: ${summarizeZod(parsed.error)}`);
  // One serialisation: the bytes stored by file IO managers, their hash the data version.
  const { dataVersion, stored } = await storeValue(
    ioFor(defs, asset),
    ioContext(asset, partition),
    asset,
    parsed.data,
  );
  const quarantineLocation = await writeQuarantine(job.quarantineDir, asset.key, partition, extra.quarantine);
  const at = new Date().toISOString();
  const checks: StoredCheckResult[] = [];
  for (const c of asset.checks) {
    let r: CheckResult;
    try {
      r = await c.fn(parsed.data);
    } catch (err) {
      r = { status: 'fail', message: `check threw: ${errorMessage(err)}` };
    }
    const blocking = c.blocking ?? true;
    const { status, message, metadata } = r;
    checks.push({ name: c.name, status, blocking, message, metadata, dataVersion, runId: job.runId, at });
    hooks.event({
      type: 'check',
      runId: job.runId,
      at: new Date().toISOString(),
      asset: asset.key,
      partition,
      check: c.name,
      status,
      blocking,
      message,
      ...(metadata ? { metadata } : {}),
    });
  }
  const metadata: MaterializedMetadata = {
    ...(Array.isArray(parsed.data) ? { rows: parsed.data.length } : {}),
    ...(isArrowTable(parsed.data) ? { rows: parsed.data.numRows } : {}),
    ...extra.meta,
    bytes: stored.bytes,
    durationMs: Date.now() - extra.t0,
    location: maskSecrets(stored.location),
    dataVersion,
    ...(stored.stamp ? { storageStamp: stored.stamp } : {}),
    ...(extra.quarantine.total ? { quarantined: { ...extra.quarantine.counts }, quarantineLocation } : {}),
    ...(extra.sources.size ? { sources: [...extra.sources] } : {}),
  };
  return { kind: 'stored', partition, dataVersion, at, metadata, checks };
}

/**
 * Encodes and stores a value: streamed into the manager's writer as it is encoded when it has one
 * (a large value is then never whole in memory as text or bytes), else encoded in memory and stored.
 */
async function storeValue(
  io: IOManager,
  ctx: IOContext,
  asset: AnyAsset,
  value: unknown,
): Promise<{ dataVersion: string; stored: StoreResult }> {
  const format = formatOf(asset.storage);
  if (!io.openValue) {
    const encoded = await encodeValue(value, format, asset.key);
    return {
      dataVersion: encoded.dataVersion,
      stored: await io.store(ctx, value, encoded.dataVersion, encoded),
    };
  }
  const writer = await io.openValue(ctx);
  let digest;
  try {
    digest = await encodeInto(value, format, asset.key, writer);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return { dataVersion: digest.dataVersion, stored: await writer.commit(digest) };
}
