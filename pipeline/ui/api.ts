/**
 * What the UI's JSON API answers, read through the CLI's own functions: `planSelection` (the statuses
 * and `why` reasons of `plan --all`), the state index, `listRuns`/`readRun`, `readQuarantine`, the
 * assets' IO managers. Every value returned has been through `maskSecrets` where it can hold a message.
 */
import {
  describePartitions,
  ioFor,
  NO_DATA,
  parseSelection,
  resolveSelection,
  StateStore,
  type MaterializationRecord,
} from '../../engine/index.ts';
import { maskSecrets } from '../../engine/redact.ts';
import { ioContext } from '../../engine/run/storage.ts';
import { planSelection } from '../plan-selection.ts';
import { checkRawInput } from '../preflight.ts';
import { readQuarantine } from '../quarantine-report.ts';
import { describeReason } from '../reasons.ts';
import type { Runtime } from '../runtime.ts';
import type { PageReader, ProjectPage } from '../define-config.ts';
import { BadRequest } from './params.ts';
import { buildSnapshot, type Snapshot } from './snapshot.ts';
import { worstStatus, STATUS_ORDER, STATUS_CODE } from './status.ts';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

interface Signature {
  at: string;
  settled: boolean;
}

export interface Range {
  partition?: string;
  from?: string;
  to?: string;
}

/**
 * Reads for the API. One plan of the whole graph (a snapshot) serves every request until the state index
 * changes; requests arriving while it is computed share it. A change of the index (a run recorded units,
 * in this process or another) is planned `since` the snapshot: only the units whose record changed, and
 * those downstream whose assessment changes, are assessed again. The raw files' observations and the
 * storage checks of unchanged records are reused for at most `maxAgeMs` (files may change without a
 * run); then every source is observed and every stored output checked again (`recheck`), in the
 * background while pages are being asked for. The server warms the first plan when it starts.
 */
export class UiReader {
  private cache:
    { key: string; signature: Signature; checkedAt: number; value: Promise<Snapshot> } | undefined;
  private defsJson: ReturnType<UiReader['computeDefinitions']> | undefined;
  private askedAt = 0;
  private refreshTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly rt: Runtime,
    private readonly maxAgeMs = 30_000,
  ) {}

  /** The index as last written by any process (the runtime's own store caches what it read). */
  state(): StateStore {
    return new StateStore(this.rt.config.stateDir, this.rt.indexBackend);
  }

  /** The index as last written, with these assets' records read (a shared index has no lazy read). */
  async indexOf(assets: string[]): Promise<StateStore> {
    const state = this.state();
    await state.load(assets);
    return state;
  }

  assetOrThrow(key: string) {
    if (!this.rt.defs.graph.order.includes(key)) throw new BadRequest(`no asset "${key}"`, 404);
    return this.rt.defs.graph.get(key);
  }

  /**
   * The index folder's mtime: every record written is a file renamed into it. Trusted only when it is
   * older than the file system's timestamp tick could hide (`settled`): a rename in the same tick as the
   * one read would leave it unchanged.
   */
  private async signature(): Promise<Signature> {
    // A shared index (DynamoDB) changes without touching the state dir: its stamp (a counter) says when.
    if (!this.rt.indexBackend.readSync) return { at: await this.rt.indexBackend.stamp(), settled: true };
    try {
      const { mtimeMs, ctimeMs } = await stat(join(this.rt.config.stateDir, 'index'));
      return { at: `${mtimeMs}/${ctimeMs}`, settled: Date.now() - Math.max(mtimeMs, ctimeMs) >= 2_000 };
    } catch {
      return { at: '-', settled: true };
    }
  }

  /**
   * `plan --all` over the range (default: every day of the raw data), with what the pages show of it.
   * `refresh`: the server's own re-check, not a page's request.
   */
  async snapshot(range: Range = {}, refresh = false): Promise<Snapshot> {
    const key = JSON.stringify(range);
    const signature = await this.signature();
    const c = this.cache;
    const now = Date.now();
    if (!refresh) this.askedAt = now;
    const same = !!c && c.key === key;
    const young = same && now - c.checkedAt < this.maxAgeMs;
    if (young && c.signature.settled && c.signature.at === signature.at) return c.value;
    // Since the previous snapshot: only what changed is assessed again; when its observations and
    // storage checks are too old, they are all done again (recheck) but the assessment stays incremental.
    const before = same ? c.value : undefined;
    const checkedAt = young ? c.checkedAt : now;
    const value = (async () => {
      const prev = await before?.catch(() => undefined);
      await checkRawInput(this.rt.config);
      const { p, days } = await planSelection(
        { defs: this.rt.defs, state: this.state() },
        { all: true, ...range },
        undefined,
        { since: prev?.p, recheck: !young, keepBasis: true },
      );
      if (prev && p === prev.p) return prev; // nothing changed: the same answers, already encoded
      return buildSnapshot(p, days, prev);
    })();
    const entry = { key, signature, checkedAt, value };
    this.cache = entry;
    value.then(
      (snap) => {
        this.scheduleRefresh(entry, range);
        // Both pages' answers encoded off the request path, for the requests to come.
        setImmediate(() => {
          if (this.cache !== entry) return;
          this.encodeGraph(snap);
          this.encodeMatrix(snap);
        });
      },
      () => {
        if (this.cache === entry) this.cache = undefined;
      },
    );
    return value;
  }

  /**
   * While pages were asked for in the last 5 minutes, the snapshot is checked again when it reaches its
   * maximum age, off the request path: the next page finds it ready.
   */
  private scheduleRefresh(entry: NonNullable<UiReader['cache']>, range: Range): void {
    clearTimeout(this.refreshTimer);
    if (this.closed || Date.now() - this.askedAt > 5 * 60_000) return;
    const wait = Math.max(0, entry.checkedAt + this.maxAgeMs - Date.now());
    this.refreshTimer = setTimeout(() => {
      if (this.cache === entry) this.snapshot(range, true).catch(() => {});
    }, wait);
    this.refreshTimer.unref();
  }

  /** Stops the background re-checks. */
  close(): void {
    this.closed = true;
    clearTimeout(this.refreshTimer);
  }

  /** The assets' definitions as the pages show them (the config is loaded once: computed once). */
  definitions() {
    return (this.defsJson ??= this.computeDefinitions());
  }

  private computeDefinitions() {
    const { graph } = this.rt.defs;
    return graph.order.map((k) => {
      const a = graph.get(k);
      return {
        key: k,
        kind: a.kind,
        group: a.group,
        tags: a.tags,
        description: a.description ?? '',
        partitionsDef: describePartitions(a.partitions),
        deps: graph.depsOf(k).map((d) => d.assetKey),
        codeVersion: a.codeVersion,
      };
    });
  }

  /** The CLI's selection language (`+key`, `group:x`, `tag:y`, …; no `status:` terms here) → asset keys. */
  select(expr: string): string[] {
    const terms = parseSelection(expr);
    if (terms.some((t) => t.kind === 'status'))
      throw new BadRequest('status: terms are not supported in the filter (the graph shows statuses)');
    return [...resolveSelection(terms, this.rt.defs.graph)];
  }

  /** `/api/graph`'s JSON: the definitions with every asset's status (encoded once per snapshot). */
  async graphJson(range: Range): Promise<string> {
    return this.encodeGraph(await this.snapshot(range));
  }

  private encodeGraph(s: Snapshot): string {
    return (s.json.graph ??= JSON.stringify({
      days: s.days,
      assets: this.definitions(),
      statuses: Object.fromEntries([...s.views].map(([k, v]) => [k, v.status])),
    }));
  }

  /** `why KEY` as data: every unit with its status, reasons (as sentences too) and index record. */
  async asset(key: string, range: Range, limit = 500) {
    const a = this.assetOrThrow(key);
    const { views, days } = await this.snapshot(range);
    const rows = views.get(key)?.rows ?? [];
    const state = await this.indexOf([key]);
    const units = rows.slice(-limit).map((r) => ({
      ...r,
      why: r.reasons.map(describeReason),
      record: a.kind === 'asset' ? publicRecord(state.get(key, r.partition)) : undefined,
    }));
    const quarantine =
      a.kind === 'asset'
        ? await readQuarantine({ dir: this.rt.quarantineDir, state, assets: new Set([key]), show: 5 })
        : [];
    // Check results across runs (newest first), from the state's per-asset history.
    const checkHistory = a.kind === 'asset' ? await state.checkHistory(key, 200) : [];
    return {
      days,
      asset: this.definitions().find((d) => d.key === key),
      status: worstStatus(rows.map((r) => r.status)),
      total: rows.length,
      units,
      quarantine: quarantine.slice(-50).map((q) => ({
        partition: q.partition,
        counts: q.counts,
        kept: q.kept,
        records: q.records,
      })),
      checkHistory: checkHistory.map((c) => ({
        ...c,
        ...(c.message && { message: maskSecrets(c.message) }),
      })),
    };
  }

  /**
   * `/api/matrix`'s JSON, assets × days: one character per cell (STATUS_CODE of the worst status of the
   * asset's units in that day, `.` none), so 2,000 × 365 cells are ~800 kB; unpartitioned and static
   * assets get `whole`, the worst status of all their units. Encoded once per snapshot.
   */
  async matrixJson(range: Range): Promise<string> {
    return this.encodeMatrix(await this.snapshot(range));
  }

  private encodeMatrix(s: Snapshot): string {
    return (s.json.matrix ??= JSON.stringify({
      days: s.days,
      columns: s.columns,
      rows: s.matrixRows,
      legend: Object.fromEntries(STATUS_ORDER.map((x) => [STATUS_CODE[x], x])),
    }));
  }

  async runs() {
    return this.state().listRuns();
  }

  async run(runId: string) {
    let events;
    try {
      events = await this.state().readRun(runId);
    } catch {
      throw new BadRequest(`no run "${runId}"`, 404);
    }
    return events.map((e) => publicEvent(e));
  }

  runLogPath(runId: string): string {
    return this.state().runLogPath(runId);
  }

  // ---------- project pages ----------

  pageOrThrow(id: string): ProjectPage {
    const page = this.rt.pages.find((p) => p.id === id);
    if (!page) throw new BadRequest(`no page "${id}"`, 404);
    return page;
  }

  /** The partitions a page can show: those of its asset with a stored value, newest first. */
  async pagePartitions(page: ProjectPage): Promise<string[]> {
    const idx = (await this.indexOf([page.asset])).partitionsOf(page.asset);
    return Object.entries(idx)
      .filter(([, r]) => r.dataVersion && r.dataVersion !== NO_DATA)
      .map(([k]) => k)
      .sort()
      .reverse();
  }

  async renderPage(page: ProjectPage, partition: string): Promise<string> {
    const read: PageReader = { load: (asset, part) => this.load(asset, part) };
    const value = await read.load(page.asset, partition);
    if (value === undefined) throw new BadRequest(`${page.asset} has no stored value for ${partition}`, 404);
    return page.render(value, partition, read);
  }

  /** A stored value through the asset's IO manager (any storage mode), undefined when none. */
  async load(asset: string, partition: string): Promise<unknown> {
    const a = this.assetOrThrow(asset);
    if (a.kind !== 'asset') return undefined;
    const rec = (await this.indexOf([asset])).get(asset, partition);
    if (!rec?.dataVersion || rec.dataVersion === NO_DATA) return undefined;
    try {
      return await ioFor(this.rt.defs, a).load(ioContext(a, partition));
    } catch (err) {
      if ((err as Error).name === 'MissingValueError') return undefined;
      throw err;
    }
  }
}

/** An index record without anything that could hold a secret unmasked (failure messages). */
function publicRecord(rec: MaterializationRecord | undefined) {
  if (!rec) return undefined;
  return {
    ...rec,
    ...(rec.lastFailure && {
      lastFailure: { ...rec.lastFailure, error: maskSecrets(rec.lastFailure.error) },
    }),
    ...(rec.checks && {
      checks: rec.checks.map((c) => ({ ...c, ...(c.message && { message: maskSecrets(c.message) }) })),
    }),
  };
}

function publicEvent<E extends { type: string }>(e: E): E {
  const x = e as E & { error?: string; message?: string; stack?: string };
  return {
    ...e,
    ...(typeof x.error === 'string' && { error: maskSecrets(x.error) }),
    ...(typeof x.message === 'string' && { message: maskSecrets(x.message) }),
    ...(typeof x.stack === 'string' && { stack: maskSecrets(x.stack) }),
  };
}

export const maskLine = (line: string): string => maskSecrets(line);
