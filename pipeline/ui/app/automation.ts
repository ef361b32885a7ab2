/// <reference lib="dom" />
/**
 * Automation (issue 17): what `pipeline automation status` prints, as a page — whether the daemon is
 * running, the schedules and their next tick (in their zone), eager conditions, freshness (stale ones
 * marked with a text label, not colour alone), the latest evaluations and why each did or did not start
 * a run, newest first, and the runs the daemon started.
 */
import { get } from './api.ts';
import { h, type Child } from './dom.ts';

interface Decision {
  at: string;
  tick: number;
  condition: string;
  asset?: string;
  outcome: 'run' | 'wait' | 'skip' | 'warn' | 'info';
  reason: string;
  units?: string[];
}
interface Automation {
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
  freshness: {
    asset: string;
    maxLag: string;
    latest?: string;
    lagMs?: number;
    ok: boolean;
    message: string;
  }[];
  lastEvaluation?: { tick: number; at: string; decisions: Decision[] };
  latestByAsset: Decision[];
  runs: {
    at: string;
    runId: string;
    command: string;
    status: string;
    materialized?: number;
    skipped?: number;
    failed?: number;
    error?: string;
  }[];
}

const EAGER: Record<string, string> = {
  'all-inputs': 'when every input it reads has data',
  'any-input': 'as soon as one input has data',
  'all-sources': 'when every raw partition it reads (whole graph) has data',
};

/** `2026-12-05 06:00 CET` in the zone given. */
function inZone(iso: string, timeZone: string): string {
  const d = new Date(iso);
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    })
      .formatToParts(d)
      .map((x) => [x.type, x.value]),
  ) as Record<string, string>;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName ?? timeZone}`;
}

/** A duration as `3 d 4 h`, `5 h 12 min`, `42 min`, `12 s`. */
function span(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr} h${m % 60 ? ` ${m % 60} min` : ''}`;
  return `${Math.floor(hr / 24)} d${hr % 24 ? ` ${hr % 24} h` : ''}`;
}

/** `2026-12-05 00:41:07` (local time of the browser). */
const local = (iso: string): string => {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};

function table(caption: string, id: string, cols: string[], rows: HTMLTableRowElement[]): HTMLElement {
  return h(
    'table',
    { class: 'runs auto-table', id },
    h('caption', { class: 'sr-only' }, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        cols.map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

const none = (what: string): HTMLElement => h('p', { class: 'muted' }, `No ${what} declared.`);

const OUTCOME: Record<Decision['outcome'], string> = {
  run: '▶ run',
  wait: '… wait',
  skip: '– skip',
  warn: '⚠ warn',
  info: 'ℹ info',
};

export async function automationPage(root: HTMLElement): Promise<void> {
  const s = await get<Automation>('/api/automation');
  const now = Date.now();
  const sections: Child[] = [];

  sections.push(
    h(
      'div',
      { class: 'toolbar' },
      h('h2', {}, 'Automation'),
      h(
        'span',
        {
          id: 'daemon-status',
          class: `chip ${s.daemon.running ? 'run-success' : 'st-missing'}`,
        },
        s.daemon.running ? '● daemon running' : '○ daemon not running',
      ),
    ),
    h(
      'p',
      { class: 'meta' },
      s.daemon.running
        ? `pid ${s.daemon.pid ?? '?'}, since ${s.daemon.since ? local(s.daemon.since) : '?'}. `
        : ['Start it with ', h('code', {}, 'pipeline daemon'), '. '],
      `Sensor: ${s.cursor.rawPartitionsSeen} raw partitions with data seen; last evaluation stored ${s.cursor.evaluatedAt ? local(s.cursor.evaluatedAt) : 'never'}.`,
    ),
  );

  if (!s.schedules.length && !s.eager.length && !s.freshness.length) {
    sections.push(
      h(
        'p',
        { class: 'note', id: 'automation-none' },
        'No automation is declared in this project. Add ',
        h('code', {}, 'eager()'),
        ', ',
        h('code', {}, "onCron('0 6 * * *')"),
        ' or ',
        h('code', {}, "freshness({ maxLag: '26h' })"),
        ' to an asset’s ',
        h('code', {}, 'automation'),
        ' (see docs/automation.md), then run ',
        h('code', {}, 'pipeline daemon'),
        '.',
      ),
    );
  }

  // Freshness first: a stale asset is what a person opening this page needs to see.
  sections.push(h('h3', {}, 'Freshness'));
  const stale = s.freshness.filter((f) => !f.ok).length;
  if (s.freshness.length)
    sections.push(
      stale
        ? h(
            'p',
            { class: 'warning', role: 'status' },
            `⚠ Stale: ${stale} of ${s.freshness.length} asset${s.freshness.length > 1 ? 's' : ''} with a freshness policy ${stale > 1 ? 'are' : 'is'} older than the max lag.`,
          )
        : h('p', { class: 'muted' }, 'Every asset with a freshness policy is within its max lag.'),
      table(
        'Freshness per asset',
        'auto-freshness',
        ['asset', 'status', 'latest partition', 'age', 'max lag', 'message'],
        s.freshness.map((f) =>
          h(
            'tr',
            { class: f.ok ? '' : 'stale-row', 'data-asset': f.asset, 'data-ok': String(f.ok) },
            h('td', { class: 'mono' }, h('a', { href: `#/graph/${f.asset}` }, f.asset)),
            h(
              'td',
              {},
              h(
                'span',
                { class: `chip ${f.ok ? 'st-fresh' : 'st-stale-warn'}` },
                f.ok ? '✓ fresh' : '⚠ stale',
              ),
            ),
            h('td', { class: 'mono' }, f.latest ?? 'none'),
            h('td', { class: 'num' }, f.lagMs === undefined ? '—' : span(f.lagMs)),
            h('td', { class: 'num' }, f.maxLag),
            h('td', {}, f.message),
          ),
        ),
      ),
    );
  else sections.push(none('freshness policy'));

  sections.push(h('h3', {}, 'Schedules'));
  sections.push(
    s.schedules.length
      ? table(
          'Cron schedules',
          'auto-schedules',
          ['asset', 'cron', 'zone', 'partitions', 'next tick (zone time)', 'last handled'],
          s.schedules.map((c) =>
            h(
              'tr',
              { 'data-asset': c.asset },
              h('td', { class: 'mono' }, h('a', { href: `#/graph/${c.asset}` }, c.asset)),
              h('td', { class: 'mono' }, c.cron),
              h('td', {}, c.timezone),
              h('td', {}, c.partitions),
              h(
                'td',
                { class: 'next-tick' },
                c.nextTick
                  ? [
                      inZone(c.nextTick, c.timezone),
                      h('span', { class: 'muted' }, ` (in ${span(Date.parse(c.nextTick) - now)})`),
                    ]
                  : 'none',
              ),
              h('td', {}, c.lastTick ? inZone(c.lastTick, c.timezone) : 'never'),
            ),
          ),
        )
      : none('cron schedule'),
  );

  // The last evaluation's decisions, then the latest decision of each asset × condition from earlier ones.
  const last = s.lastEvaluation?.decisions ?? [];
  const earlier = s.latestByAsset.filter((d) => d.at !== s.lastEvaluation?.at);
  const decisions = [...last, ...earlier].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  sections.push(h('h3', {}, 'Latest evaluations'));
  sections.push(
    s.lastEvaluation
      ? h(
          'p',
          { class: 'meta' },
          `Last evaluation: tick ${s.lastEvaluation.tick} at ${local(s.lastEvaluation.at)}; earlier rows are the latest decision about each asset and condition.`,
        )
      : '',
    decisions.length
      ? table(
          'Evaluations, newest first',
          'auto-decisions',
          ['time', 'asset', 'condition', 'outcome', 'reason', 'units'],
          decisions.map((d) =>
            h(
              'tr',
              {},
              h('td', { class: 'mono nowrap' }, local(d.at)),
              h('td', { class: 'mono' }, d.asset ?? '—'),
              h('td', {}, d.condition),
              h(
                'td',
                {},
                h('span', { class: `outcome outcome-${d.outcome}` }, OUTCOME[d.outcome] ?? d.outcome),
              ),
              h('td', {}, d.reason),
              h(
                'td',
                { class: 'mono', title: (d.units ?? []).join(' ') },
                d.units?.length
                  ? `${d.units.slice(0, 3).join(' ')}${d.units.length > 3 ? ` … (${d.units.length})` : ''}`
                  : '',
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No evaluation recorded yet (the daemon writes one per tick).'),
  );

  sections.push(h('h3', {}, 'Eager'));
  sections.push(
    s.eager.length
      ? table(
          'Eager conditions',
          'auto-eager',
          ['asset', 'require', 'materialized'],
          s.eager.map((e) =>
            h(
              'tr',
              { 'data-asset': e.asset },
              h('td', { class: 'mono' }, h('a', { href: `#/graph/${e.asset}` }, e.asset)),
              h('td', { class: 'mono' }, e.require),
              h('td', {}, EAGER[e.require] ?? ''),
            ),
          ),
        )
      : none('eager condition'),
  );

  sections.push(h('h3', {}, 'Runs started by the daemon'));
  sections.push(
    s.runs.length
      ? table(
          'Runs started by the daemon, newest first',
          'auto-runs',
          ['time', 'run', 'status', 'built', 'skipped', 'failed', 'command'],
          s.runs.map((r) =>
            h(
              'tr',
              {},
              h('td', { class: 'mono nowrap' }, local(r.at)),
              h('td', {}, h('a', { href: `#/runs/${r.runId}` }, r.runId)),
              h('td', {}, h('span', { class: `chip run-${r.status}` }, r.status)),
              h('td', { class: 'num' }, r.materialized ?? ''),
              h('td', { class: 'num' }, r.skipped ?? ''),
              h('td', { class: 'num' }, r.failed ?? ''),
              h(
                'td',
                { class: 'mono' },
                r.command,
                r.error ? h('span', { class: 'error' }, ` (${r.error})`) : '',
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'None yet.'),
  );

  root.replaceChildren(h('section', { class: 'automation', 'aria-labelledby': 'auto-h' }, sections));
  root.querySelector('h2')!.id = 'auto-h';
}
