/// <reference lib="dom" />
/**
 * Runs: the list (filter by status and by text in the command) and one run's page — a timeline with one
 * bar per unit (and faint bars for its waits: queued before its start, retry backoffs; retries as
 * marks), its events and errors, live through
 * server-sent events from the run log, and a cancel button for runs started here.
 */
import { get, post, type RunEvent, type RunSummary } from './api.ts';
import { h } from './dom.ts';

export async function runsPage(root: HTMLElement): Promise<() => void> {
  let data = await get<{ runs: RunSummary[]; active: { runId: string; phase: string; error?: string }[] }>(
    '/api/runs',
  );
  const status = h(
    'select',
    { id: 'run-status', 'aria-label': 'Filter by status' },
    ['all', 'running', 'success', 'failed', 'cancelled', 'interrupted'].map((s) =>
      h('option', { value: s }, s),
    ),
  );
  const text = h('input', {
    type: 'search',
    id: 'run-text',
    placeholder: 'asset or command',
    'aria-label': 'Filter by asset or command',
  });
  const launch = h(
    'button',
    {
      type: 'button',
      id: 'materialize-all',
      onclick: async () => {
        launch.disabled = true;
        try {
          const r = await post<{ runId: string }>('/api/runs', force.checked ? { force: true } : {});
          location.hash = `#/runs/${r.runId}`;
        } catch (err) {
          launch.disabled = false;
          alert((err as Error).message);
        }
      },
    },
    'Materialize all (stale only)',
  );
  const force = h('input', { type: 'checkbox', id: 'run-force' });
  const tbody = h('tbody');
  const draw = () => {
    const st = status.value;
    const q = text.value.trim();
    tbody.replaceChildren(
      ...data.runs
        .filter(
          (r) =>
            (st === 'all' || r.status === st) &&
            (!q || r.command.includes(q) || r.runId.includes(q) || r.assets.includes(q)),
        )
        .map((r) =>
          h(
            'tr',
            {},
            h('td', {}, h('a', { href: `#/runs/${r.runId}` }, r.runId)),
            h('td', {}, h('span', { class: `chip run-${r.status}` }, r.status)),
            h('td', {}, r.startedAt ?? ''),
            h('td', { class: 'num' }, r.materialized),
            h('td', { class: 'num' }, r.skipped),
            h('td', { class: 'num' }, r.failed),
            h('td', { class: 'num' }, r.durationMs === null ? '…' : `${(r.durationMs / 1000).toFixed(1)} s`),
            h('td', { class: 'mono' }, r.command),
          ),
        ),
    );
  };
  status.addEventListener('change', draw);
  text.addEventListener('input', draw);
  draw();
  root.replaceChildren(
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'run-status' }, 'Status '),
      status,
      h('label', { for: 'run-text' }, ' Search '),
      text,
      launch,
      h('label', { for: 'run-force' }, force, ' force (rebuild what is up to date)'),
    ),
    data.active.filter((a) => a.phase !== 'done').length
      ? h(
          'p',
          {},
          'In progress here: ',
          data.active
            .filter((a) => a.phase !== 'done')
            .map((a) => h('a', { href: `#/runs/${a.runId}` }, `${a.runId} (${a.phase}) `)),
        )
      : '',
    h(
      'table',
      { class: 'runs' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['run', 'status', 'started', 'built', 'skipped', 'failed', 'duration', 'command'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      tbody,
    ),
  );
  // Runs started elsewhere (the CLI, another tab) appear without a reload.
  const timer = window.setInterval(async () => {
    try {
      data = await get<typeof data>('/api/runs');
      draw();
    } catch {
      // the server is gone or busy: keep what is shown
    }
  }, 2000);
  return () => clearInterval(timer);
}

interface Bar {
  id: string;
  start?: number;
  end?: number;
  state: 'running' | 'materialized' | 'skipped' | 'failed';
  retries: number;
  detail: string;
  /**
   * Time the unit spent waiting: `queued` from the run's start to its first attempt (for its upstream
   * units or a free slot), `backoff` between a failed attempt and its retry (the retry's delay).
   */
  waits: { from: number; to: number; kind: 'queued' | 'backoff' }[];
}

export async function runPage(root: HTMLElement, runId: string): Promise<() => void> {
  const head = h('div', { class: 'toolbar' }, h('h2', {}, `Run ${runId}`));
  const summary = h('p', { id: 'run-summary', role: 'status' }, 'Waiting for the run log…');
  const cancel = h(
    'button',
    {
      type: 'button',
      id: 'cancel-run',
      onclick: async () => {
        cancel.disabled = true;
        try {
          await post(`/api/runs/${runId}/cancel`, {});
          summary.textContent = 'Cancelling: the units in flight finish their writes…';
        } catch (err) {
          summary.textContent = (err as Error).message;
        }
      },
    },
    'Cancel run',
  );
  const timeline = h('div', {
    class: 'timeline',
    id: 'timeline',
    role: 'list',
    'aria-label': 'Units of the run',
  });
  const log = h('ol', { class: 'events', id: 'events' });
  head.append(cancel);
  const legend = h(
    'p',
    { class: 'muted tl-legend' },
    h('span', { class: 'tl-key unit-materialized' }),
    ' built ',
    h('span', { class: 'tl-key unit-failed' }),
    ' failed ',
    h('span', { class: 'tl-key unit-running' }),
    ' running ',
    h('span', { class: 'tl-key tl-wait' }),
    ' queued before its start ',
    h('span', { class: 'tl-key tl-wait tl-wait-backoff' }),
    ' retry backoff',
  );
  root.replaceChildren(head, summary, legend, timeline, h('h3', {}, 'Events'), log);

  const bars = new Map<string, Bar>();
  let t0 = 0;
  let finished: RunEvent | undefined;
  let started: RunEvent | undefined;
  const onEvent = (e: RunEvent) => {
    const t = Date.parse(e.at);
    if (e.type === 'run_started') {
      started = e;
      t0 = t;
    }
    if (e.type === 'run_finished') finished = e;
    if (e.asset && e.partition !== undefined) {
      const id = `${e.asset}[${e.partition}]`;
      const b = bars.get(id) ?? { id, state: 'running', retries: 0, detail: '', waits: [] };
      bars.set(id, b);
      if (e.type === 'unit_started') {
        if (b.start === undefined && t > t0) b.waits.push({ from: t0, to: t, kind: 'queued' });
        b.start ??= t;
        b.state = 'running';
      } else if (e.type === 'retry') {
        b.retries++;
        b.waits.push({ from: t, to: t + Number(e.delayMs ?? 0), kind: 'backoff' });
      } else if (e.type === 'materialized' || e.type === 'skipped' || e.type === 'failed') {
        b.end = t;
        b.start ??= t;
        b.state = e.type;
        if (e.type === 'skipped') b.detail = `${e.reason}${e.detail ? `: ${String(e.detail)}` : ''}`;
        if (e.type === 'failed') b.detail = e.error ?? '';
      }
    }
    if (e.type !== 'progress' && e.type !== 'skipped')
      log.append(
        h(
          'li',
          { class: `ev ev-${e.type}` },
          h('span', { class: 'mono' }, e.at.slice(11, 23)),
          ' ',
          describe(e),
        ),
      );
  };
  const draw = () => {
    const list = [...bars.values()].filter((b) => b.state !== 'skipped' || b.detail !== 'up_to_date');
    const now = finished ? Date.parse(finished.at) : Date.now();
    const span = Math.max(1, now - t0);
    timeline.replaceChildren(
      ...list.map((b) => {
        const left = (((b.start ?? now) - t0) / span) * 100;
        const width = Math.max(0.6, (((b.end ?? now) - (b.start ?? now)) / span) * 100);
        return h(
          'div',
          { class: 'tl-row', role: 'listitem', 'aria-label': `${b.id}: ${b.state}` },
          h('span', { class: 'tl-label mono', title: b.detail }, b.id),
          h(
            'span',
            { class: 'tl-track' },
            b.waits.map((w) => {
              const wl = ((w.from - t0) / span) * 100;
              const ww = Math.max(0.3, ((Math.min(w.to, now) - w.from) / span) * 100);
              const ms = Math.round(w.to - w.from);
              return h('span', {
                class: `tl-wait tl-wait-${w.kind}`,
                'data-wait': w.kind,
                style: `left:${wl}%;width:${Math.min(ww, 100 - wl)}%`,
                title:
                  w.kind === 'queued'
                    ? `queued ${ms} ms before its start (upstream units or a free slot)`
                    : `retry backoff: ${ms} ms before the next attempt`,
              });
            }),
            h('span', {
              class: `tl-bar unit-${b.state}`,
              'data-unit': b.id,
              'data-state': b.state,
              style: `left:${left}%;width:${Math.min(width, 100 - left)}%`,
              title: `${b.state}${b.retries ? `, ${b.retries} retries` : ''} ${b.detail}`,
            }),
            b.retries ? h('span', { class: 'tl-retry', style: `left:${left}%` }, `↻${b.retries}`) : null,
          ),
        );
      }),
    );
    const n = (st: Bar['state']) => [...bars.values()].filter((b) => b.state === st).length;
    summary.textContent = finished
      ? `${String(finished.status)}: ${String(finished.materialized)} built, ${String(finished.skipped)} skipped, ${String(finished.failed)} failed in ${String(finished.durationMs)} ms`
      : started
        ? `running: ${n('materialized')} built, ${n('running')} in flight, ${n('failed')} failed of ${String(started.toRun)} to run`
        : summary.textContent;
    summary.dataset.status = finished ? String(finished.status) : 'running';
    cancel.hidden = !!finished;
  };
  const es = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events`);
  let pending = false;
  es.onmessage = (m) => {
    onEvent(JSON.parse(m.data as string) as RunEvent);
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        draw();
      });
    }
  };
  es.addEventListener('end', (m) => {
    es.close();
    const end = JSON.parse((m as MessageEvent).data as string) as { phase?: string; error?: string };
    draw();
    if (end.error) summary.textContent = `Not run: ${end.error}`;
  });
  es.onerror = () => es.close();
  const tick = window.setInterval(() => !finished && started && draw(), 500);
  return () => {
    es.close();
    clearInterval(tick);
  };
}

function describe(e: RunEvent): string {
  const unit = e.asset ? `${e.asset}${e.partition === undefined ? '' : `[${e.partition}]`} ` : '';
  switch (e.type) {
    case 'run_started':
      return `run started: ${String(e.toRun)} of ${String(e.units)} units to run — ${String(e.command)}`;
    case 'unit_started':
      return `${unit}started (attempt ${e.attempt})`;
    case 'materialized':
      return `${unit}materialized`;
    case 'failed':
      return `${unit}FAILED: ${e.error}`;
    case 'retry':
      return `${unit}retry ${e.attempt} in ${String(e.delayMs)} ms: ${e.error}`;
    case 'check':
      return `${unit}check ${String(e.check)}: ${e.status}${e.message ? ` — ${e.message}` : ''}`;
    case 'log':
      return `${unit}${e.message}`;
    case 'run_finished':
      return `run ${e.status}`;
    default:
      return `${unit}${e.type}`;
  }
}
