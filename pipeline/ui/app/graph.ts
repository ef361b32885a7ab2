/// <reference lib="dom" />
/**
 * The asset graph page: lineage with statuses (pan with the mouse, zoom with the wheel or +/−), a filter
 * in the CLI's selection syntax, keyboard navigation (arrows move between assets: up/down in a column,
 * left/right to an upstream/downstream asset; Enter opens one) and the asset panel (asset.ts).
 */
import { get, type GraphData } from './api.ts';
import { showAsset } from './asset.ts';
import { h, s, statusLabel } from './dom.ts';
import { layout, NODE_H, NODE_W } from './layout.ts';

export async function graphPage(root: HTMLElement, selectedKey?: string): Promise<void> {
  const data = await get<GraphData>('/api/graph');
  const filterInput = h('input', {
    id: 'filter',
    type: 'search',
    placeholder: '+daily_report, group:metrics, tag:report …',
    'aria-label': 'Filter assets with the selection syntax of the CLI',
  });
  const filterMsg = h('span', { class: 'muted', role: 'status' });
  const panel = h(
    'aside',
    { id: 'asset-panel', class: 'panel', 'aria-label': 'Asset details' },
    h('p', { class: 'muted' }, 'Select an asset (click, or Tab then Enter).'),
  );
  const svgHost = h('div', { class: 'graph-host' });
  const legend = h(
    'div',
    { class: 'legend' },
    ['fresh', 'stale', 'missing', 'failed', 'blocked', 'source'].map((st) =>
      h('span', { class: `chip st-${st}` }, statusLabel[st]!),
    ),
  );
  root.replaceChildren(
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'filter' }, 'Filter '),
      filterInput,
      filterMsg,
      legend,
      h('span', { class: 'muted' }, ` days ${data.days.from} → ${data.days.to}`),
    ),
    h('div', { class: 'split' }, svgHost, panel),
  );

  const byKey = new Map(data.assets.map((a) => [a.key, a]));
  const down = new Map<string, string[]>();
  for (const a of data.assets)
    for (const d of a.deps) if (d !== a.key) (down.get(d) ?? down.set(d, []).get(d)!).push(a.key);
  const { pos, layers, width, height } = layout(
    data.assets.map((a) => a.key),
    (k) => byKey.get(k)?.deps ?? [],
  );

  let scale = 1;
  let tx = 0;
  let ty = 0;
  const world = s('g', { class: 'world' });
  const svg = s(
    'svg',
    {
      class: 'graph',
      role: 'group',
      'aria-label': `Asset lineage: ${data.assets.length} assets`,
      width: '100%',
      height: '100%',
    },
    world,
  ) as SVGSVGElement;
  const apply = () => world.setAttribute('transform', `translate(${tx},${ty}) scale(${scale})`);
  svg.setAttribute('viewBox', `0 0 ${Math.max(width, 600)} ${Math.max(height, 300)}`);

  const edges: SVGElement[] = [];
  for (const a of data.assets) {
    const p = pos.get(a.key)!;
    for (const d of a.deps) {
      if (d === a.key) continue;
      const q = pos.get(d);
      if (!q) continue;
      const x1 = q.x + NODE_W,
        y1 = q.y + NODE_H / 2,
        x2 = p.x,
        y2 = p.y + NODE_H / 2;
      const mx = (x1 + x2) / 2;
      edges.push(
        world.appendChild(
          s('path', {
            class: 'edge',
            'data-from': d,
            'data-to': a.key,
            d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
          }),
        ),
      );
    }
  }
  const nodes = new Map<string, SVGElement>();
  for (const a of data.assets) {
    const p = pos.get(a.key)!;
    const st = data.statuses[a.key];
    const status = st?.status ?? 'fresh';
    const counts = st
      ? Object.entries(st.counts)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')
      : '';
    const node = s(
      'g',
      {
        class: `node st-${status}`,
        transform: `translate(${p.x},${p.y})`,
        tabindex: 0,
        role: 'button',
        'data-key': a.key,
        'data-status': status,
        'aria-label': `${a.key}: ${statusLabel[status]}${counts ? ` (${counts})` : ''}, group ${a.group}`,
      },
      s('rect', { width: NODE_W, height: NODE_H, rx: 6 }),
      s('text', { x: 10, y: 19, class: 'node-key' }, a.key),
      s(
        'text',
        { x: 10, y: 36, class: 'node-sub' },
        `${a.kind === 'source' ? 'source' : statusLabel[status]} · ${a.partitionsDef.split(' ')[0]}${st && st.partitions > 1 ? ` · ${st.partitions}` : ''}`,
      ),
    );
    node.addEventListener('click', () => select(a.key));
    node.addEventListener('keydown', (e) => onKey(e as KeyboardEvent, a.key));
    nodes.set(a.key, node);
    world.append(node);
  }
  svgHost.append(svg);
  apply();

  // Pan and zoom.
  let drag: { x: number; y: number } | undefined;
  svg.addEventListener('pointerdown', (e) => {
    if ((e.target as Element).closest('.node')) return;
    drag = { x: e.clientX - tx, y: e.clientY - ty };
  });
  svg.addEventListener('pointermove', (e) => {
    if (!drag) return;
    tx = e.clientX - drag.x;
    ty = e.clientY - drag.y;
    apply();
  });
  svg.addEventListener('pointerup', () => (drag = undefined));
  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    scale = Math.min(3, Math.max(0.2, scale * (e.deltaY < 0 ? 1.1 : 1 / 1.1)));
    apply();
  });

  function onKey(e: KeyboardEvent, key: string): void {
    const p = pos.get(key)!;
    let next: string | undefined;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      return void select(key);
    }
    if (e.key === 'ArrowDown') next = layers[p.layer]![p.row + 1];
    if (e.key === 'ArrowUp') next = layers[p.layer]![p.row - 1];
    if (e.key === 'ArrowLeft') next = byKey.get(key)!.deps.find((d) => d !== key);
    if (e.key === 'ArrowRight') next = down.get(key)?.[0];
    if (e.key === '+' || e.key === '=' || e.key === '-') {
      scale = Math.min(3, Math.max(0.2, e.key === '-' ? scale / 1.2 : scale * 1.2));
      apply();
    }
    if (next) {
      e.preventDefault();
      (nodes.get(next) as unknown as HTMLElement).focus();
    }
  }

  function select(key: string): void {
    for (const [k, n] of nodes) n.classList.toggle('selected', k === key);
    history.replaceState(null, '', `#/graph/${encodeURIComponent(key)}`);
    void showAsset(panel, key);
  }

  let timer: number | undefined;
  filterInput.addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(async () => {
      const expr = filterInput.value.trim();
      if (!expr) {
        for (const n of nodes.values()) n.classList.remove('dim');
        for (const e of edges) e.classList.remove('dim');
        svg.classList.remove('filtering');
        filterMsg.textContent = '';
        return;
      }
      try {
        const r = await get<{ keys: string[] }>(`/api/select?expr=${encodeURIComponent(expr)}`);
        const keep = new Set(r.keys);
        for (const [k, n] of nodes) n.classList.toggle('dim', !keep.has(k));
        for (const e of edges)
          e.classList.toggle('dim', !keep.has(e.dataset.from!) || !keep.has(e.dataset.to!));
        svg.classList.add('filtering');
        filterMsg.textContent = `${keep.size} selected`;
      } catch (err) {
        filterMsg.textContent = (err as Error).message;
      }
    }, 250);
  });

  if (selectedKey && nodes.has(selectedKey)) select(selectedKey);
}
