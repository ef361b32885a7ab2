import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { join } from 'node:path';
import {
  execute,
  newRunId,
  NO_DATA,
  parseSelection,
  resolveSelection,
  SelectionError,
  DefinitionError,
  describePartitions,
  UNPARTITIONED,
  type UnitLockRelease,
} from '../engine/index.ts';
import { maskSecrets } from '../engine/redact.ts';
import { writeFileAtomic } from '../engine/atomic.ts';
import { parseDuration } from '../engine/run-index.ts';
import { dayBounds, resolveDays, UsageError } from './days.ts';
import { parseUnit, unitPartition } from './unit-arg.ts';
import { cancelOnInterrupt, INTERRUPTED_EXIT_CODE } from './interrupt.ts';
import { stderrLog } from './log.ts';
import { runConcurrency, s3ClientSettings, type LogLevel } from './config.ts';
import { checkDatabaseReady, checkDataDir, checkRawInput } from './preflight.ts';
import { describeReason } from './reasons.ts';
import {
  exprOf,
  planSelection,
  planSummary,
  withUnitSelection,
  type SelectionOpts,
} from './plan-selection.ts';
import { planAndLock } from './run-locks.ts';
import { ConfigFileError } from './config-file.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import { packageVersion } from './version.ts';
import { registerAutomationCommands } from './daemon/commands.ts';
import { loadQueueSettings, printableQueueSettings } from './queue/settings.ts';
import { runExecutor, type RunExecutor } from './queue/run-executor.ts';
import { createRunRenderer, replayRun, shouldUseTui } from './view/render.ts';
import { formatRawInputStats } from './view/format.ts';

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
};

function addSelectionOptions(cmd: Command, requireSelection: boolean): Command {
  return cmd
    .option('--all', 'every asset')
    .option(
      '--select <expr...>',
      'dbt-style selection: key, +key, key+, 2+key, key+1, @key, group:NAME, tag:NAME, status:stale|missing|failed, *; a space = union, a comma = intersection',
    )
    .option('--exclude <expr...>', 'leave out what this selects (same language as --select)')
    .option(
      '--partition <key>',
      'one window: an hour YYYY-MM-DDTHH, a day YYYY-MM-DD, a week YYYY-Www, a month YYYY-MM (each asset gets its partitions inside it), or a static key',
    )
    .option('--from <key>', 'first window of a range (any of the --partition forms)')
    .option('--to <key>', 'last window of a range (inclusive)')
    .option('--force', 'run even what is up to date')
    .hook('preAction', (c) => {
      const o = c.opts<SelectionOpts>();
      if (requireSelection && !o.all && !o.select)
        throw new UsageError('say what to run: --all or --select EXPR');
      if (o.all && o.select) throw new UsageError('use either --all or --select, not both');
      if (o.partition && (o.from || o.to))
        throw new UsageError('use either --partition or --from/--to, not both');
    });
}

/** LOG_LEVEL, once the configuration is read (`info` until then). */
let logLevel: LogLevel = 'info';
/** stderr lines besides a command's own output, filtered by LOG_LEVEL. */
const log = stderrLog(() => logLevel);

async function withRuntime<T>(
  fn: (rt: Runtime) => Promise<T>,
  opts: { prefetchSources?: boolean } = {},
): Promise<T> {
  const rt = await createRuntime({
    log: (m, level = 'info') => log[level](m),
    configFile: program.opts<{ config?: string }>().config,
    ...opts,
  });
  logLevel = rt.config.logLevel;
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

/**
 * No raw input at all: a configuration error (exit 2). In S3 mode, listings started early that found
 * objects already say there is some: no request of its own then.
 */
async function checkRawInputOf(rt: Runtime, signal?: AbortSignal): Promise<void> {
  if (!(await rt.rawInputListed(signal))) await checkRawInput(rt.config, signal);
}

/** Commands that plan over every source: S3 listings start while the project loads. */
const PREFETCH = { prefetchSources: true };

const program = new Command('pipeline')
  .description("CityFlow: typed data assets — runs the project's cityflow.config.ts")
  .version(packageVersion(), '-V, --version', 'print the version and exit')
  .option(
    '--config <file>',
    'the project config (default: CITYFLOW_CONFIG, else cityflow.config.ts in this folder or above)',
  )
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');

program
  .command('list')
  .description('list the assets with their group, partitions and dependencies')
  .option('--json', 'machine-readable output')
  .action(async (o: { json?: boolean }) =>
    withRuntime(async (rt) => {
      const rows = rt.defs.graph.order.map((k) => {
        const a = rt.defs.graph.get(k);
        return {
          key: k,
          kind: a.kind,
          group: a.group,
          tags: a.tags,
          partitions: a.partitions?.kind ?? 'unpartitioned',
          /** e.g. `daily America/New_York from 2025-01-01 end 0`, `static a,b`. */
          partitionsDef: describePartitions(a.partitions),
          deps: rt.defs.graph.depsOf(k).map((d) => d.assetKey),
          io: a.kind === 'source' ? 'source' : a.io,
          codeVersion: a.codeVersion,
        };
      });
      if (o.json) return void console.log(JSON.stringify(rows));
      for (const r of rows) {
        console.log(
          `${r.key.padEnd(24)} ${r.group.padEnd(12)} ${r.partitionsDef.padEnd(20)} ${r.deps.length ? '← ' + r.deps.join(', ') : ''}`,
        );
      }
    }),
  );

addSelectionOptions(
  program.command('materialize').description('build the selected assets (only what is stale)'),
  true,
)
  .addOption(
    new Option(
      '--concurrency <n>',
      'units computed at once (default: PIPELINE_CONCURRENCY, else the CPU count)',
    ).argParser(positiveInt),
  )
  .option('--no-tui', 'plain lines instead of the terminal view')
  .option('--json', 'print a JSON summary as the last line of stdout')
  .action(async (o: SelectionOpts & { concurrency?: number; tui: boolean; json?: boolean }) =>
    withRuntime(async (rt) => {
      // Before the units run (waiting for the lock, observing sources, planning) there is nothing to
      // finish: one line, and the exit code of the signal.
      const interrupt = cancelOnInterrupt(
        (sig) => `\nCancelled (${sig}) before any unit ran: nothing was built.\n`,
      );
      const { signal } = interrupt;
      log.info(rt.modeLine);
      const runId = newRunId();
      let release: UnitLockRelease | undefined;
      let running = false;
      let executor: RunExecutor['executor'];
      try {
        // EXECUTOR=queue: this process coordinates, BullMQ workers compute. Redis unreachable: exit 2 now.
        const where = await runExecutor(rt, runId, o.concurrency);
        executor = where.executor;
        const { concurrency } = where;
        if (where.describe) log.info(where.describe);
        // No raw input at all, or tables not set up: a configuration error (exit 2), nothing computed.
        await checkRawInputOf(rt, signal);
        await checkDatabaseReady(rt.config, process.env, signal);
        // Plans, locks the units it builds (waiting for runs holding some), plans again if needed.
        const locked = await planAndLock(rt, o, runId, log.warn, signal);
        release = locked.release;
        const { p, state } = locked;
        if (signal.aborted) return void (process.exitCode = interrupt.exitCode);
        running = true;
        interrupt.setMessage('\nCancelling: finishing in-flight writes (Ctrl-C again to quit now)…\n');
        const out = o.json ? process.stderr : process.stdout;
        const renderer = await createRunRenderer({
          tty: shouldUseTui({ isTTY: out.isTTY, noTui: !o.tui, env: process.env }),
          stream: out,
          logLevel: rt.config.logLevel,
        });
        log.debug(
          `run ${runId}: concurrency ${concurrency.value} (${concurrency.from}), ` +
            `events in ${join(rt.config.stateDir, 'runs', `${runId}.jsonl`)}`,
        );
        // A shared lock's lease found lost (another coordinator took the units over): stop the run.
        const lost = locked.release.lost;
        const result = await execute(rt.defs, state, p, {
          runId,
          command: process.argv.slice(2).join(' '),
          concurrency: concurrency.value,
          signal: lost ? AbortSignal.any([signal, lost]) : signal,
          onEvent: renderer.onEvent,
          quarantineDir: rt.quarantineDir,
          ...(executor && { executor }),
        });
        await renderer.close();
        if (executor?.lost) log.error(`pipeline: ${executor.lost}`);
        const degraded = rt.degraded();
        if (degraded)
          log.warn(
            `Degraded: raw input read from DATA_DIR (${rt.config.dataDir}) because S3 failed (${degraded}); ` +
              'S3_FALLBACK=off makes such a run fail instead',
          );
        const rawInput = rt.rawInputStats();
        if (rawInput) out.write(formatRawInputStats(rawInput) + '\n');
        if (o.json) {
          const { runId: id, materialized, skipped, noData, failed, durationMs } = result;
          console.log(
            JSON.stringify({
              runId: id,
              status: result.status,
              materialized,
              skipped,
              noData,
              failed,
              durationMs,
              ...(degraded && { degraded: true, degradedReason: degraded }),
              ...(rawInput && { rawInput }),
            }),
          );
        }
        process.exitCode =
          result.status === 'success'
            ? 0
            : lost?.aborted
              ? 1
              : result.status === 'cancelled'
                ? (interrupt.exitCode ?? INTERRUPTED_EXIT_CODE)
                : 1;
        if (lost?.aborted) log.error(`pipeline: the run stopped: ${(lost.reason as Error).message}`);
      } catch (err) {
        // The abort surfaces from the lock wait or the planning as an error: it is the cancellation.
        if (signal.aborted && !running) return void (process.exitCode = interrupt.exitCode);
        throw err;
      } finally {
        await executor?.close();
        await release?.();
        interrupt.dispose();
      }
    }, PREFETCH),
  );

program
  .command('worker')
  .description(
    'run the units of queued runs (a coordinator is `pipeline materialize` with EXECUTOR=queue); needs REDIS_URL',
  )
  .addOption(
    new Option(
      '--concurrency <n>',
      'jobs run at once (default: PIPELINE_CONCURRENCY, else the CPU count)',
    ).argParser(positiveInt),
  )
  .action(async (o: { concurrency?: number }) =>
    withRuntime(async (rt) => {
      const settings = loadQueueSettings(process.env, 'pipeline worker');
      const { runWorker } = await import('./queue/worker.ts');
      await runWorker(rt, settings, runConcurrency(rt.config, o.concurrency).value, log);
    }),
  );

addSelectionOptions(
  program.command('plan').description('show what would run and why, without running'),
  false,
)
  .option('--json', 'machine-readable output')
  .action(async (o: SelectionOpts & { json?: boolean }) =>
    withRuntime(async (rt) => {
      await checkRawInputOf(rt);
      const { p, days } = await planSelection(rt, o);
      const units = p.units.filter((u) => u.decision !== 'observe');
      if (o.json) {
        return void console.log(
          JSON.stringify({
            days,
            units: units.map((u) => ({
              asset: u.asset,
              partition: u.partition,
              decision: u.decision,
              reasons: u.reasons,
            })),
          }),
        );
      }
      // The range means nothing to a plan of unpartitioned assets only.
      if (units.some((u) => u.partition !== UNPARTITIONED))
        console.log(`Partitions in ${days.from}..${days.to} (${days.origin})`);
      for (const u of units) {
        const head = {
          run: '▶ run    ',
          skip: u.reasons.length ? '· stale  ' : '· skip   ',
          blocked: '✗ blocked',
        }[u.decision as 'run' | 'skip' | 'blocked'];
        const why = u.reasons.length ? ': ' + u.reasons.map(describeReason).join('; ') : '';
        console.log(`${head} ${u.asset}[${u.partition}]${why}`);
      }
      console.log(planSummary(units));
    }, PREFETCH),
  );

program
  .command('why')
  .description("explain one asset's status and the reasons it would (not) run")
  .argument('<key>', 'asset key, or one unit as runs print it: asset[partition]')
  .option('--partition <key>', 'one partition (default: every day of the raw data)')
  .option('--json', 'machine-readable output')
  .action(async (target: string, opts: { partition?: string; json?: boolean }) =>
    withRuntime(async (rt) => {
      const { key, o } = whyTarget(target, opts, rt.defs.graph.assets.has(target));
      const asset = rt.defs.graph.get(key);
      await checkRawInput(rt.config);
      // Assessed with everything upstream, as `plan --all` does: a unit's status never depends on the selection.
      const { p } = await planSelection(rt, { select: `+${key}`, partition: o.partition });
      const units = p.units.filter((u) => u.asset === key);
      const rows = units.map((u) => ({ ...u, record: rt.state.get(key, u.partition) }));
      if (o.json) return void console.log(JSON.stringify(rows));
      console.log(
        `${key} (${asset.kind}, group ${asset.group}, ${asset.partitions?.kind ?? 'unpartitioned'}, code ${asset.codeVersion})`,
      );
      for (const r of rows) {
        if (r.decision === 'observe') {
          const seen = r.dataVersion === NO_DATA ? 'no file' : `data version ${r.dataVersion}`;
          console.log(`  [${r.partition}] source, ${seen}`);
          continue;
        }
        const rec = r.record;
        const last = !rec?.at
          ? 'never materialized'
          : rec.dataVersion === NO_DATA
            ? `no data (recorded ${rec.at} by run ${rec.runId}, nothing stored): ${String(rec.metadata?.noData ?? '')}`
            : `materialized ${rec.at} by run ${rec.runId}, data ${rec.dataVersion}`;
        const failed = rec?.lastFailure
          ? `; last failure ${rec.lastFailure.at}: ${maskSecrets(rec.lastFailure.error)}` // also an index written before masking
          : '';
        console.log(`  [${r.partition}] ${last}${failed}`);
        for (const c of rec?.checks ?? []) {
          if (c.dataVersion !== rec?.dataVersion) continue;
          const kind = c.blocking ? 'blocking' : 'non-blocking';
          console.log(`    check ${c.name}: ${c.status} (${kind})${c.message ? `: ${c.message}` : ''}`);
        }
        const reasons = r.reasons.map(describeReason).join('; ');
        // Blocked now; in a run of +KEY the failing unit would be retried first (its rebuild may pass).
        const retried = r.reasons.find((x) => x.kind === 'upstream_will_run' && x.failedCheck);
        const by =
          r.reasons.find((x) => x.kind === 'blocked_by_check') ??
          (retried?.kind === 'upstream_will_run' ? retried.failedCheck : undefined);
        if (by) {
          console.log(`    blocked: ${reasons}`);
          console.log(
            `    (--force here does not bypass it: fix the data or the code, then rebuild ${by.asset} so that its check passes, e.g. --select ${by.asset}+; or make the check non-blocking)`,
          );
        } else if (r.decision === 'run') {
          console.log(`    stale, would run (with its upstream: --select +${key}): ${reasons}`);
        } else {
          console.log('    up to date: code and every input unchanged since then, upstream up to date');
        }
      }
    }),
  );

program
  .command('quarantine')
  .description('bad input records set aside by the last materializations: counts per reason, first records')
  .option(
    '--select <expr...>',
    'assets: key, +key, key+, group:NAME, tag:NAME, as --select of plan (default: every asset)',
  )
  .option(
    '--partition <key>',
    'the days of one window: a day, an hour (its day), a week YYYY-Www, a month YYYY-MM',
  )
  .option('--from <key>', 'first window of a range (any of the --partition forms)')
  .option('--to <key>', 'last window of a range (inclusive)')
  .option('--reason <reason>', 'only this reason (e.g. duplicate_row)')
  .option('--show <n>', 'records to print per partition (0 = counts only)', (v) => Number(v), 3)
  .option('--json', 'machine-readable output')
  .action(async (opts: SelectionOpts & { reason?: string; show: number; json?: boolean }) =>
    withRuntime(async (rt) => {
      const o = withUnitSelection(opts);
      if (!Number.isInteger(o.show) || o.show < 0) throw new UsageError('--show: a whole number ≥ 0');
      if (o.partition && (o.from || o.to))
        throw new UsageError('use either --partition or --from/--to, not both');
      let assets: Set<string> | undefined;
      if (o.select) {
        const terms = parseSelection(exprOf(o.select)!);
        if (terms.some((t) => t.kind === 'status'))
          throw new UsageError('status: terms select what would run; name assets, groups or tags here');
        assets = resolveSelection(terms, rt.defs.graph);
      }
      const days =
        o.partition || o.from || o.to ? dayBounds(await resolveDays(o, rt.defs.sources)) : undefined;
      const { readQuarantine, formatQuarantine } = await import('./quarantine-report.ts');
      const units = await readQuarantine({
        dir: rt.quarantineDir,
        state: rt.state,
        assets,
        days,
        reason: o.reason,
        show: o.show,
      });
      if (o.json) return void console.log(JSON.stringify(units));
      for (const line of formatQuarantine(units)) console.log(line);
    }),
  );

const runs = program
  .command('runs')
  .description('list past runs')
  .option('--json', 'machine-readable output');
runs.action(async (o: { json?: boolean }) =>
  withRuntime(async (rt) => {
    const list = await rt.state.listRuns();
    if (o.json) return void console.log(JSON.stringify(list));
    if (!list.length) return void console.log('No runs yet.');
    for (const r of list) {
      console.log(
        `${r.runId}  ${r.status.padEnd(11)} ✓${r.materialized} ↷${r.skipped} ✗${r.failed}  ${r.durationMs ?? '?'} ms  ${r.command}`,
      );
    }
  }),
);
runs
  .command('prune')
  .description('remove old runs (their logs and index entries); a running run is never removed')
  .addOption(
    new Option('--keep <n>', 'keep the N newest runs').argParser((v) => {
      if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError('a whole number ≥ 0, e.g. --keep 100');
      return Number(v);
    }),
  )
  .addOption(
    new Option(
      '--older-than <duration>',
      'remove the runs started more than this long ago: 30d, 12h, 45m, 2w',
    ).argParser((v) => {
      try {
        return parseDuration(v);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    }),
  )
  .option('--dry-run', 'say what would be removed, remove nothing')
  .option('--json', 'machine-readable output')
  .action(async (o: { keep?: number; olderThan?: number; dryRun?: boolean; json?: boolean }) => {
    if ((o.keep === undefined) === (o.olderThan === undefined))
      throw new UsageError('say which runs to remove: --keep N or --older-than DURATION (one of them)');
    return withRuntime(async (rt) => {
      const r = rt.state.pruneRuns({ keep: o.keep, olderThanMs: o.olderThan, dryRun: o.dryRun });
      // `runs` has a --json of its own, which commander gives the parent.
      if (o.json || runs.opts<{ json?: boolean }>().json)
        return void console.log(
          JSON.stringify({
            dryRun: !!o.dryRun,
            removed: r.removed.map((x) => x.runId),
            kept: r.kept,
            running: r.skippedRunning.map((x) => x.runId),
          }),
        );
      const verb = o.dryRun ? 'would remove' : 'removed';
      for (const x of r.removed)
        console.log(
          `${verb} ${x.runId}  ${x.status.padEnd(11)} ${x.startedAt ?? '(no start recorded)'}  ${x.command}`,
        );
      for (const x of r.skippedRunning) console.log(`kept ${x.runId}: still running`);
      console.log(
        `${o.dryRun ? 'Dry run: would remove' : 'Removed'} ${r.removed.length} run${r.removed.length === 1 ? '' : 's'}` +
          `${o.dryRun ? '' : ` from ${join(rt.config.stateDir, 'runs')}`}; ${r.kept} kept.`,
      );
    });
  });
runs
  .command('show')
  .description("replay a run's events through the run view")
  .argument('<id>', 'run id (see `pipeline runs`)')
  .option('--no-tui', 'plain lines')
  .option('--verbose', 'also print the stack traces of the failed units kept in the run log')
  .action(async (id: string, o: { tui: boolean; verbose?: boolean }) =>
    withRuntime(async (rt) => {
      const events = await rt.state.readRun(id);
      await replayRun(events, {
        tty: shouldUseTui({ isTTY: process.stdout.isTTY, noTui: !o.tui, env: process.env }),
        logLevel: rt.config.logLevel,
        stacks: o.verbose,
      });
    }),
  );

program
  .command('ui')
  .description('serve the web UI: asset graph, partitions, runs, project pages (127.0.0.1 unless --host)')
  .addOption(
    new Option('--port <n>', 'port (default: any free port)').argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port 0–65535');
      return n;
    }),
  )
  .option('--host <host>', 'address to bind (default 127.0.0.1; another exposes the UI to that network)')
  .action(async (o: { port?: number; host?: string }) =>
    withRuntime(async (rt) => {
      const { startUi } = await import('./ui/server.ts');
      const ui = await startUi(rt, { host: o.host, port: o.port, log: (m) => log.warn(m) });
      console.log(`CityFlow UI on ${ui.url} (Ctrl-C to stop)`);
      if (o.host && o.host !== '127.0.0.1' && o.host !== 'localhost')
        log.warn(`listening on ${o.host}: anyone who can reach it can read the state and run logs`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await ui.close();
    }),
  );

program
  .command('report')
  .description('write a project page (the Paris config: the daily report) as one self-contained HTML file')
  .requiredOption('--html <partition>', 'the partition to render, e.g. a day YYYY-MM-DD')
  .option('--page <id>', "the config's page (default: its first page)")
  .option('--out <file>', 'write to this file (default: stdout)')
  .action(async (o: { html: string; page?: string; out?: string }) =>
    withRuntime(async (rt) => {
      const { UiReader } = await import('./ui/api.ts');
      const { pageIdSchema, partitionSchema } = await import('./ui/params.ts');
      if (!rt.pages.length) throw new UsageError('this project defines no pages (defineConfig({ pages }))');
      const id = o.page ?? rt.pages[0]!.id;
      const page = rt.pages.find((p) => p.id === id);
      if (!pageIdSchema.safeParse(id).success || !page)
        throw new UsageError(`--page ${id}: no such page (pages: ${rt.pages.map((p) => p.id).join(', ')})`);
      if (!partitionSchema.safeParse(o.html).success)
        throw new UsageError(`--html ${o.html}: not a partition key`);
      const reader = new UiReader(rt);
      if ((await reader.load(page.asset, o.html)) === undefined)
        throw new UsageError(
          `${page.asset} has no stored value for ${o.html} (stored: ${(await reader.pagePartitions(page)).slice(0, 5).join(', ') || 'none'}; materialize it first)`,
        );
      const html = await reader.renderPage(page, o.html);
      if (!o.out) return void process.stdout.write(html);
      await writeFileAtomic(o.out, html);
      log.info(`${page.title} ${o.html} → ${o.out} (${Buffer.byteLength(html)} bytes)`);
    }),
  );

program
  .command('env')
  .description('print the resolved configuration (secrets masked) and the storage mode')
  .action(async () =>
    withRuntime(async (rt) => {
      console.log(rt.modeLine);
      for (const [k, v] of Object.entries(rt.printableConfig)) console.log(`${k}=${v}`);
      for (const [k, v] of Object.entries(printableQueueSettings(loadQueueSettings())))
        console.log(`${k}=${v}`);
    }),
  );

program
  .command('warm')
  .description("the warm processes of PIPELINE_WARM=1 (this user's): list them, or stop them")
  .argument('[action]', '`status` or `stop`', 'status')
  .action(async (action: string) => {
    if (action !== 'status' && action !== 'stop') throw new UsageError('say `warm status` or `warm stop`');
    const { WARM_ON, warmDir, warmProcesses } = await import('./warm.mjs');
    const dir = warmDir(process.env);
    const waiting = dir ? warmProcesses(dir) : [];
    if (action === 'status') {
      if (!WARM_ON.test(process.env.PIPELINE_WARM ?? ''))
        console.log('PIPELINE_WARM is off: every command starts fresh');
      console.log(`${waiting.length} warm process${waiting.length === 1 ? '' : 'es'} waiting`);
      for (const w of waiting) console.log(`  pid ${w.pid}  ${w.socket}`);
      return;
    }
    let stopped = 0;
    for (const w of waiting) {
      try {
        process.kill(w.pid, 'SIGTERM');
        stopped++;
      } catch {
        // ended since it was listed (it ran a command, or went idle)
      }
    }
    console.log(`stopped ${stopped} warm process${stopped === 1 ? '' : 'es'}`);
  });

program
  .command('setup')
  .description('create the missing DynamoDB tables (on-demand) or MongoDB indexes of the configured database')
  .action(async () =>
    withRuntime(async (rt) => {
      const db = rt.database;
      if (rt.sharedState) {
        const created = await rt.sharedState.ensureTables();
        console.log(
          created.length
            ? `Created the shared-state DynamoDB tables: ${created.join(', ')}`
            : 'Shared-state DynamoDB tables already exist.',
        );
      }
      if (!db)
        return void (
          rt.sharedState || console.log('Local mode: nothing to set up (outputs are files under OUTPUT_DIR).')
        );
      if ('ensureTables' in db) {
        const { created } = await db.ensureTables();
        console.log(
          created.length
            ? `Created DynamoDB tables: ${created.join(', ')}`
            : 'DynamoDB tables already exist.',
        );
      } else {
        await db.ensureIndexes();
        console.log(`MongoDB indexes ensured on ${rt.config.mongodbDatabase}.`);
      }
    }),
  );

program
  .command('upload')
  .description(
    'sync the local raw data (DATA_DIR) to s3://S3_RAW_BUCKET/S3_RAW_PREFIX, skipping identical objects',
  )
  .option('--dry-run', 'say what would be uploaded, upload nothing')
  .option('--no-tui', 'plain lines instead of the terminal view')
  .action(async (o: { dryRun?: boolean; tui: boolean }) =>
    withRuntime(async (rt) => {
      const c = rt.config;
      if (!c.s3RawBucket)
        throw new UsageError('set S3_RAW_BUCKET (and S3_ENDPOINT_URL for a non-AWS server) to upload');
      await checkDataDir(c);
      const { createS3Client } = await import('../io-managers/s3/client.ts');
      const { syncToS3, SyncCancelled } = await import('../io-managers/s3/upload.ts');
      const { createUploadRenderer } = await import('./view/upload-renderer.ts');
      const client = createS3Client(s3ClientSettings(c));
      const prefix = c.s3RawPrefix.replace(/^\/+|\/+$/g, '');
      const renderer = await createUploadRenderer({
        tty: shouldUseTui({ isTTY: process.stdout.isTTY, noTui: !o.tui, env: process.env }),
        dryRun: !!o.dryRun,
        source: c.dataDir,
        target: `s3://${c.s3RawBucket}${prefix ? `/${prefix}` : ''}`,
      });
      // Ctrl-C: no new file, uploads in flight aborted (multipart ones on the server too), exit 130.
      const interrupt = cancelOnInterrupt(
        '\nCancelling: aborting the uploads in flight (Ctrl-C again to quit now)…\n',
      );
      try {
        await syncToS3(c.dataDir, client, c.s3RawBucket, c.s3RawPrefix, {
          dryRun: o.dryRun,
          onEvent: renderer.onEvent,
          signal: interrupt.signal,
        });
        await renderer.close();
      } catch (err) {
        // The view's last frame (or summary line) first; the error then goes to stderr with exit 1. A
        // cancellation is no error: its summary says what was uploaded, and the exit code is 130.
        await renderer.close(err);
        if (!(err instanceof SyncCancelled)) throw err;
        process.exitCode = interrupt.exitCode ?? INTERRUPTED_EXIT_CODE;
      } finally {
        interrupt.dispose();
        client.destroy();
      }
    }),
  );

program
  .command('iam-policy')
  .description('print the least-privilege IAM policy for the configured buckets and tables')
  .option('--account-id <id>', '12-digit AWS account id for the table ARNs')
  .option('--runtime-only', 'leave out the CreateTable statement used by `pipeline setup`')
  .action(async (o: { accountId?: string; runtimeOnly?: boolean }) =>
    withRuntime(async (rt) => {
      const { iamPolicy } = await import('../io-managers/s3/iam-policy.ts');
      console.log(
        JSON.stringify(
          iamPolicy(rt.config, { accountId: o.accountId, withoutSetup: o.runtimeOnly }),
          null,
          2,
        ),
      );
    }),
  );

registerAutomationCommands(program, withRuntime, log);

/** `why`'s asset and options: `asset[partition]` stands for `asset --partition partition` (unit-arg.ts). */
function whyTarget<O extends { partition?: string }>(
  target: string,
  o: O,
  isAssetKey: boolean,
): { key: string; o: O } {
  const unit = isAssetKey ? null : parseUnit(target);
  if (!unit) return { key: target, o };
  return { key: unit.asset, o: { ...o, partition: unitPartition(target, unit, o.partition) } };
}

/**
 * Runs the command of `process.argv` (bin.mjs calls it; so does a warm process, warm-serve.ts).
 * Exit codes: 0 success, 1 something failed, 2 usage or configuration error (message, no stack).
 */
export async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const e = err as Error;
    const usage =
      e instanceof UsageError ||
      e instanceof SelectionError ||
      e instanceof DefinitionError ||
      e instanceof ConfigFileError ||
      e.name === 'ConfigError';
    process.stderr.write(`pipeline: ${maskSecrets(e.message)}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}
