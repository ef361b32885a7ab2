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
  type Plan,
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
import {
  assetStatuses,
  unitsByAsset,
  worstStatus,
  STATUS_ORDER,
  STATUS_CODE,
  type UnitRow,
  type UnitStatus,
} from './status.ts';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface Range {
  partition?: string;
  from?: string;
  to?: string;
}

/** Reads for the API; the plan of the whole graph is cached briefly (one plan serves a page's requests). */
interface Snapshot {
  p: Plan;
  days: unknown;
  byAsset: Map<string, UnitRow[]>;
}

/**
 * Reads for the API. One plan of the whole graph (a snapshot) serves every request until the state
 * changes (a run writes the index or a run log: the folders' mtimes change) or `maxAgeMs` passes (raw
 * files may change without a run); requests arriving while it is computed share it. The server warms it
 * when it starts.
 */
export class UiReader {
  private cache: { key: string; signature: string; at: number; value: Promise<Snapshot> } | undefined;

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

  private async signature(): Promise<string> {
    const m = async (dir: string) => {
      try {
        return String((await stat(join(this.rt.config.stateDir, dir))).mtimeMs);
      } catch {
        return '-';
      }
    };
    // A shared index (DynamoDB) changes without touching the state dir: its stamp says when.
    const shared = this.rt.indexBackend.readSync ? '' : `/${await this.rt.indexBackend.stamp()}`;
    return `${await m('index')}/${await m('runs')}${shared}`;
  }

  /** `plan --all` over the range (default: every day of the raw data), with the units by asset. */
  async snapshot(range: Range = {}): Promise<Snapshot> {
    const key = JSON.stringify(range);
    const signature = await this.signature();
    const c = this.cache;
    if (c && c.key === key && c.signature === signature && Date.now() - c.at < this.maxAgeMs) return c.value;
    const value = (async () => {
      await checkRawInput(this.rt.config);
      const { p, days } = await planSelection(
        { defs: this.rt.defs, state: this.state() },
        { all: true, ...range },
      );
      return { p, days, byAsset: unitsByAsset(p) };
    })();
    const entry = { key, signature, at: Date.now(), value };
    this.cache = entry;
    value.then(
      () => (entry.at = Date.now()),
      () => {
        if (this.cache === entry) this.cache = undefined;
      },
    );
    return value;
  }

  definitions() {
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

  async graph(range: Range) {
    const { byAsset, days } = await this.snapshot(range);
    return { days, assets: this.definitions(), statuses: assetStatuses(byAsset) };
  }

  /** `why KEY` as data: every unit with its status, reasons (as sentences too) and index record. */
  async asset(key: string, range: Range, limit = 500) {
    const a = this.assetOrThrow(key);
    const { byAsset, days } = await this.snapshot(range);
    const rows = byAsset.get(key) ?? [];
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
   * Assets × days: one character per cell (STATUS_CODE of the worst status of the asset's units in
   * that day, `.` none), so 2,000 × 365 cells are ~750 kB of JSON. Unpartitioned and static assets get
   * `whole`: the worst status of all their units.
   */
  async matrix(range: Range) {
    const { byAsset, days } = await this.snapshot(range);
    const daySet = new Set<string>();
    const isTime = (k: string) => /^\d{4}-\d{2}-\d{2}/.test(k);
    for (const rows of byAsset.values())
      for (const r of rows) if (isTime(r.partition)) daySet.add(r.partition.slice(0, 10));
    const columns = [...daySet].sort();
    const col = new Map(columns.map((d, i) => [d, i]));
    const rank = (s: UnitStatus) => STATUS_ORDER.indexOf(s);
    const rows = [...byAsset].map(([asset, units]) => {
      const cells: (UnitStatus | undefined)[] = new Array(columns.length);
      let whole: UnitStatus | undefined;
      for (const u of units) {
        if (!isTime(u.partition)) {
          whole = whole && rank(whole) <= rank(u.status) ? whole : u.status;
          continue;
        }
        const i = col.get(u.partition.slice(0, 10))!;
        const c = cells[i];
        cells[i] = c && rank(c) <= rank(u.status) ? c : u.status;
      }
      return {
        asset,
        whole: whole ? STATUS_CODE[whole] : null,
        cells: Array.from(cells, (c) => (c ? STATUS_CODE[c] : '.')).join(''),
      };
    });
    return { days, columns, rows, legend: Object.fromEntries(STATUS_ORDER.map((s) => [STATUS_CODE[s], s])) };
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
