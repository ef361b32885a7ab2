/** The CLI commands of automation: `pipeline daemon` and `pipeline automation status`. */
import type { Command } from 'commander';
import type { Log } from '../log.ts';
import type { Runtime } from '../runtime.ts';

export function registerAutomationCommands(
  program: Command,
  withRuntime: <T>(fn: (rt: Runtime) => Promise<T>) => Promise<T>,
  log: Log,
): void {
  program
    .command('daemon')
    .description(
      'run the declared automation (eager, schedules, freshness) and the raw-data sensor until SIGTERM/Ctrl-C',
    )
    .option('--interval <duration>', 'time between evaluations (default AUTOMATION_INTERVAL, else 30s)')
    .option('--once', 'evaluate once, run what it requests, exit')
    .option('--dry-run', 'evaluate and log the decisions, start no run and store no cursor')
    .action(async (o: { interval?: string; once?: boolean; dryRun?: boolean }) => {
      const { daemonSettings } = await import('./settings.ts');
      const settings = daemonSettings(process.env, o);
      await withRuntime(async (rt) => {
        const { runDaemon } = await import('./daemon.ts');
        process.exitCode = await runDaemon(rt, { ...settings, log, once: o.once, dryRun: o.dryRun });
      });
    });

  program
    .command('automation')
    .description('automation of the declared assets')
    .command('status')
    .description('next ticks, last evaluations and why each did or did not start a run, freshness')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) =>
      withRuntime(async (rt) => {
        const { automationStatus, formatStatus } = await import('./status.ts');
        const s = await automationStatus(rt);
        if (o.json) return void console.log(JSON.stringify(s));
        for (const line of formatStatus(s)) console.log(line);
      }),
    );
}
