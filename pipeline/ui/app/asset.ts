/// <reference lib="dom" />
/** The asset panel: status and why per partition, last materialization, checks, quarantine, a run button. */
import { get, post, type AssetDef } from './api.ts';
import { h, statusLabel } from './dom.ts';

interface Check {
  name: string;
  status: string;
  blocking: boolean;
  message?: string;
  dataVersion: string;
  at: string;
}
interface Unit {
  partition: string;
  status: string;
  why: string[];
  noData: boolean;
  record?: {
    dataVersion?: string;
    codeVersion?: string;
    inputVersions?: Record<string, string | null>;
    runId?: string;
    at?: string;
    metadata?: {
      rows?: number;
      bytes?: number;
      durationMs?: number;
      location?: string;
      quarantined?: Record<string, number>;
    };
    checks?: Check[];
    lastFailure?: { runId: string; at: string; error: string };
  };
}
interface AssetDetail {
  asset: AssetDef;
  status: string;
  total: number;
  units: Unit[];
  quarantine: {
    partition: string;
    counts: Record<string, number>;
    kept: number;
    records: { file?: string; line?: number; reason: string; detail?: string; raw?: string }[];
  }[];
  /** Check results across runs, newest first. */
  checkHistory: {
    runId: string;
    at: string;
    partition: string;
    check: string;
    status: string;
    blocking: boolean;
    message?: string;
  }[];
}

const fmtBytes = (n?: number) =>
  n === undefined
    ? ''
    : n > 1e6
      ? `${(n / 1e6).toFixed(1)} MB`
      : n > 1e3
        ? `${(n / 1e3).toFixed(1)} kB`
        : `${n} B`;

export async function showAsset(panel: HTMLElement, key: string): Promise<void> {
  panel.replaceChildren(h('p', { class: 'muted' }, `Loading ${key}…`));
  let d: AssetDetail;
  try {
    d = await get<AssetDetail>(`/api/assets/${encodeURIComponent(key)}`);
  } catch (err) {
    return void panel.replaceChildren(h('p', { class: 'error' }, (err as Error).message));
  }
  const a = d.asset;
  const runBtn =
    a.kind === 'asset'
      ? h(
          'button',
          {
            type: 'button',
            id: 'materialize-asset',
            onclick: async () => {
              runBtn!.disabled = true;
              try {
                const r = await post<{ runId: string }>('/api/runs', { select: `+${key}` });
                location.hash = `#/runs/${r.runId}`;
              } catch (err) {
                runBtn!.disabled = false;
                panel.prepend(h('p', { class: 'error' }, (err as Error).message));
              }
            },
          },
          `Materialize +${key}`,
        )
      : null;
  const units = [...d.units].reverse();
  const totalQ = d.quarantine.reduce((s, q) => s + Object.values(q.counts).reduce((x, y) => x + y, 0), 0);
  panel.replaceChildren(
    h(
      'h2',
      {},
      a.key,
      ' ',
      h('span', { class: `chip st-${d.status}`, id: 'asset-status' }, statusLabel[d.status] ?? d.status),
    ),
    h(
      'p',
      { class: 'muted' },
      `${a.kind} · group ${a.group}${a.tags.length ? ` · tags ${a.tags.join(', ')}` : ''} · ${a.partitionsDef} · code ${a.codeVersion}`,
    ),
    a.description ? h('p', {}, a.description) : '',
    a.deps.length ? h('p', { class: 'muted' }, `← ${a.deps.join(', ')}`) : '',
    runBtn ?? '',
    h('h3', {}, `Why (${d.total} partitions${d.total > units.length ? `, newest ${units.length}` : ''})`),
    h(
      'div',
      { class: 'why', id: 'why' },
      units.slice(0, 60).map((u, i) => {
        const r = u.record;
        const m = r?.metadata;
        const checks = (r?.checks ?? []).filter((c) => c.dataVersion === r?.dataVersion);
        return h(
          'details',
          { class: `unit st-${u.status}`, open: i === 0 },
          h(
            'summary',
            {},
            h('span', { class: `chip st-${u.status}` }, statusLabel[u.status] ?? u.status),
            ' ',
            u.partition,
            u.noData ? ' · no data' : '',
          ),
          u.why.length
            ? h(
                'ul',
                { class: 'reasons' },
                u.why.map((w) => h('li', {}, w)),
              )
            : h(
                'p',
                { class: 'muted' },
                u.status === 'source' ? 'observed source' : 'up to date: code and every input unchanged',
              ),
          r?.at
            ? h(
                'p',
                { class: 'meta' },
                `materialized ${r.at} by run `,
                h('a', { href: `#/runs/${r.runId}` }, r.runId ?? ''),
                m ? ` · ${m.rows ?? '?'} rows · ${fmtBytes(m.bytes)} · ${m.durationMs ?? '?'} ms` : '',
                ` · data ${r.dataVersion?.slice(0, 12)} · code ${r.codeVersion}`,
              )
            : null,
          r?.inputVersions && Object.keys(r.inputVersions).length
            ? h(
                'p',
                { class: 'meta' },
                'inputs: ' +
                  Object.entries(r.inputVersions)
                    .slice(0, 8)
                    .map(([k, v]) => `${k}=${v ? v.slice(0, 8) : 'none'}`)
                    .join(', '),
              )
            : null,
          r?.lastFailure
            ? h('p', { class: 'error' }, `last failure ${r.lastFailure.at}: ${r.lastFailure.error}`)
            : null,
          checks.length
            ? h(
                'ul',
                { class: 'checks' },
                checks.map((c) =>
                  h(
                    'li',
                    { class: `check-${c.status}` },
                    `check ${c.name}: ${c.status}${c.blocking ? ' (blocking)' : ''}${c.message ? ` — ${c.message}` : ''}`,
                  ),
                ),
              )
            : null,
        );
      }),
    ),
    checkHistorySection(d.checkHistory),
    h('h3', {}, `Quarantine (${totalQ} records)`),
    d.quarantine.length
      ? h(
          'div',
          { id: 'quarantine' },
          d.quarantine
            .slice(-10)
            .reverse()
            .map((q) =>
              h(
                'details',
                {},
                h(
                  'summary',
                  {},
                  `${q.partition}: `,
                  Object.entries(q.counts)
                    .map(([r, n]) => `${n} ${r}`)
                    .join(', '),
                ),
                h(
                  'ul',
                  {},
                  q.records.map((x) =>
                    h(
                      'li',
                      { class: 'mono' },
                      `${x.file ?? ''}${x.line ? `:${x.line}` : ''} ${x.reason} ${x.detail ?? ''} ${x.raw ? `| ${x.raw}` : ''}`,
                    ),
                  ),
                ),
              ),
            ),
        )
      : h('p', { class: 'muted' }, 'nothing set aside'),
  );
}

/**
 * Check results over time: per check, a strip of its results (oldest left, newest right; colour and a
 * letter per status, the details in each cell's title), then the latest results as a table.
 */
function checkHistorySection(history: AssetDetail['checkHistory']): HTMLElement {
  const runs = new Set(history.map((c) => c.runId)).size;
  const byCheck = new Map<string, AssetDetail['checkHistory']>();
  for (const c of [...history].reverse()) byCheck.set(c.check, [...(byCheck.get(c.check) ?? []), c]);
  const letter = (s: string) => (s === 'pass' ? '✓' : s === 'warn' ? '!' : '✗');
  return h(
    'section',
    { id: 'check-history', 'aria-label': 'Check history' },
    h(
      'h3',
      {},
      `Check history (${history.length} result${history.length === 1 ? '' : 's'} over ${runs} run${runs === 1 ? '' : 's'})`,
    ),
    history.length
      ? h(
          'div',
          {},
          [...byCheck].map(([name, results]) => {
            const n = (s: string) => results.filter((r) => r.status === s).length;
            return h(
              'div',
              { class: 'check-strip-row' },
              h('span', { class: 'mono check-name' }, name),
              h(
                'span',
                {
                  class: 'check-strip',
                  role: 'img',
                  'aria-label': `${name}: ${n('pass')} pass, ${n('warn')} warn, ${n('fail')} fail`,
                },
                results.slice(-60).map((r) =>
                  h(
                    'span',
                    {
                      class: `check-cell check-cell-${r.status}`,
                      'data-status': r.status,
                      title: `${r.at} ${r.partition} run ${r.runId}: ${r.status}${r.message ? ` — ${r.message}` : ''}`,
                    },
                    letter(r.status),
                  ),
                ),
              ),
              h('span', { class: 'muted' }, ` ${n('pass')} pass · ${n('warn')} warn · ${n('fail')} fail`),
            );
          }),
          h(
            'table',
            { class: 'check-history' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['when (run)', 'partition', 'check', 'result'].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h(
              'tbody',
              {},
              history
                .slice(0, 20)
                .map((c) =>
                  h(
                    'tr',
                    {},
                    h(
                      'td',
                      { class: 'mono' },
                      h(
                        'a',
                        { href: `#/runs/${c.runId}`, title: `run ${c.runId}` },
                        c.at.slice(5, 16).replace('T', ' '),
                      ),
                    ),
                    h('td', { class: 'mono' }, c.partition),
                    h('td', { class: 'mono' }, c.check),
                    h(
                      'td',
                      { class: `check-${c.status}` },
                      `${c.status}${c.blocking ? '' : ' (non-blocking)'}${c.message ? ` — ${c.message}` : ''}`,
                    ),
                  ),
                ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'no check results recorded yet'),
  );
}
