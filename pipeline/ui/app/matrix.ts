/// <reference lib="dom" />
/**
 * The partition matrix: assets × days drawn on a canvas (one cell per day, or per group of days when
 * they do not fit: the worst status of the group), so 2,000 × 365 stays one draw. Keyboard: the arrow
 * keys move a cursor cell, whose asset, days and status are announced; shift+arrows extend a range, and
 * "Materialize range" runs the range's assets over those days.
 */
import { get, post } from './api.ts';
import { h } from './dom.ts';

interface Matrix {
  columns: string[];
  rows: { asset: string; whole: string | null; cells: string }[];
  legend: Record<string, string>;
}

/** Worst first: failed, blocked, missing, stale, fresh, source, none. */
const ORDER = ['x', 'b', 'm', 's', 'r', 'o', '.'];
const worst = (a: string, b: string) => (ORDER.indexOf(a) <= ORDER.indexOf(b) ? a : b);

export async function matrixPage(root: HTMLElement): Promise<void> {
  const t = performance.now();
  const m = await get<Matrix>('/api/matrix');
  const labelW = 190;
  const width = Math.min(1200, Math.max(600, window.innerWidth - 60));
  const plot = width - labelW;
  const perCol = Math.max(1, Math.ceil(m.columns.length / Math.max(1, Math.floor(plot / 4))));
  const groups = Math.ceil(m.columns.length / perCol);
  const cw = Math.max(2, Math.floor(plot / Math.max(1, groups)));
  const rh = m.rows.length > 300 ? 3 : 18;
  const canvas = h('canvas', {
    width,
    height: Math.max(40, m.rows.length * rh + TOP + 12),
    tabindex: 0,
    id: 'matrix',
    role: 'grid',
    'aria-label': `Partition matrix: ${m.rows.length} assets × ${m.columns.length} days${m.columns.length ? ` (${m.columns[0]} → ${m.columns.at(-1)})` : ''}${perCol > 1 ? `, ${perCol} days per column` : ''}. Arrow keys move, shift extends a range.`,
  });
  const info = h('p', { id: 'matrix-cursor', role: 'status', 'aria-live': 'polite' }, '');
  const runBtn = h('button', { type: 'button', id: 'materialize-range' }, 'Materialize range');
  const ctx = canvas.getContext('2d')!;
  const cellOf = (r: number, g: number): string => {
    const row = m.rows[r]!;
    if (row.whole && !row.cells.replace(/\./g, '')) return row.whole;
    let out = '.';
    for (let c = g * perCol; c < Math.min(m.columns.length, (g + 1) * perCol); c++)
      out = worst(row.cells[c]!, out);
    return out;
  };
  let cur = { r: 0, g: 0 };
  let anchor = { r: 0, g: 0 };
  // The cells are painted once into pixels (one putImageData, fast for 2,000 × 365); the cursor is drawn
  // over a copy of them on each move.
  let base: ImageData | undefined;
  const paintBase = () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.font = '11px system-ui, sans-serif';
    if (rh >= 10)
      m.rows.forEach((row, r) => {
        ctx.fillStyle = '#222';
        ctx.fillText(row.asset.slice(0, 28), 4, TOP + r * rh + rh / 2 + 4);
      });
    paintHeader(ctx, m.columns, perCol, groups, cw, labelW);
    const w = groups * cw;
    const img = ctx.createImageData(Math.max(1, w), Math.max(1, m.rows.length * rh));
    const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const colors = Object.fromEntries(Object.entries(FILL).map(([k, v]) => [k, rgb(v)]));
    for (let r = 0; r < m.rows.length; r++)
      for (let g = 0; g < groups; g++) {
        const [cr, cg, cb] = colors[cellOf(r, g)] ?? [243, 244, 246];
        for (let y = r * rh; y < r * rh + Math.max(1, rh - 1); y++)
          for (let x = g * cw; x < g * cw + Math.max(1, cw - 1); x++) {
            const i = (y * img.width + x) * 4;
            img.data[i] = cr!;
            img.data[i + 1] = cg!;
            img.data[i + 2] = cb!;
            img.data[i + 3] = 255;
          }
      }
    ctx.putImageData(img, labelW, TOP);
    base = ctx.getImageData(0, 0, canvas.width, canvas.height);
  };
  const draw = () => {
    if (!base) paintBase();
    else ctx.putImageData(base, 0, 0);
    const [r0, r1] = [Math.min(cur.r, anchor.r), Math.max(cur.r, anchor.r)];
    const [g0, g1] = [Math.min(cur.g, anchor.g), Math.max(cur.g, anchor.g)];
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 2;
    ctx.strokeRect(labelW + g0 * cw, TOP + r0 * rh, (g1 - g0 + 1) * cw, (r1 - r0 + 1) * rh);
    const days = [m.columns[g0 * perCol], m.columns[Math.min(m.columns.length - 1, (g1 + 1) * perCol - 1)]];
    info.textContent = `${m.rows[cur.r]?.asset ?? ''} · ${days[0] ?? ''}${days[1] !== days[0] ? ` → ${days[1]}` : ''} · ${STATUS[cellOf(cur.r, cur.g)] ?? 'none'}${r1 > r0 ? ` (${r1 - r0 + 1} assets)` : ''}`;
  };
  canvas.addEventListener('keydown', (e) => {
    const d = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
    if (!d) return;
    e.preventDefault();
    cur = {
      r: Math.min(m.rows.length - 1, Math.max(0, cur.r + d[0]!)),
      g: Math.min(groups - 1, Math.max(0, cur.g + d[1]!)),
    };
    if (!e.shiftKey) anchor = { ...cur };
    draw();
  });
  canvas.addEventListener('click', (e) => {
    const rect = canvas.getBoundingClientRect();
    const g = Math.floor((e.clientX - rect.left - labelW) / cw);
    const r = Math.floor((e.clientY - rect.top - TOP) / rh);
    if (g < 0 || r < 0 || r >= m.rows.length || g >= groups) return;
    cur = { r, g };
    if (!e.shiftKey) anchor = { ...cur };
    draw();
  });
  runBtn.addEventListener('click', async () => {
    const [r0, r1] = [Math.min(cur.r, anchor.r), Math.max(cur.r, anchor.r)];
    const [g0, g1] = [Math.min(cur.g, anchor.g), Math.max(cur.g, anchor.g)];
    const from = m.columns[g0 * perCol];
    const to = m.columns[Math.min(m.columns.length - 1, (g1 + 1) * perCol - 1)];
    const select = m.rows
      .slice(r0, r1 + 1)
      .map((r) => r.asset)
      .join(' ');
    try {
      const r = await post<{ runId: string }>('/api/runs', { select, ...(from && to ? { from, to } : {}) });
      location.hash = `#/runs/${r.runId}`;
    } catch (err) {
      info.textContent = (err as Error).message;
    }
  });
  root.replaceChildren(
    h(
      'div',
      { class: 'toolbar' },
      h(
        'span',
        {},
        `${m.rows.length} assets × ${m.columns.length} days${perCol > 1 ? ` (${perCol} days per column)` : ''}`,
      ),
      runBtn,
      h(
        'div',
        { class: 'legend' },
        Object.entries(STATUS)
          .filter(([k]) => k !== '.')
          .map(([k, v]) => h('span', { class: 'chip', style: `background:${FILL[k]};color:#fff` }, v)),
      ),
    ),
    info,
    h('div', { class: 'matrix-host' }, canvas),
  );
  draw();
  canvas.dataset.drawnMs = String(Math.round(performance.now() - t));
}

/** Height of the header: month labels, then day numbers with their ticks. */
const TOP = 36;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * The date header over the cells: a month label (`Nov 2025`) over the column holding the month's first
 * day, with a line down to the cells, and day-of-month labels with ticks: every day when columns are
 * wide, else days that recur each month (odd days; 1, 6, 11 …; 1, 11, 21; 1, 15), as dense as fits,
 * over the column holding that day, never overlapping.
 */
function paintHeader(
  ctx: CanvasRenderingContext2D,
  days: string[],
  perCol: number,
  groups: number,
  cw: number,
  left: number,
): void {
  if (!days.length) return;
  ctx.save();
  ctx.font = '11px system-ui, sans-serif';
  // Day labels at days of the month that repeat every month (1, 11, 21 …), as dense as they fit, each
  // over the column holding that day: ticks restart with each month, whatever the days per column.
  const dayW = ctx.measureText('30').width + 6;
  const every = Math.ceil(dayW / (cw / perCol)); // days between two labels, at least
  const anchors =
    every <= 1
      ? null // every day
      : every <= 2
        ? [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29]
        : every <= 5
          ? [1, 6, 11, 16, 21, 26]
          : every <= 10
            ? [1, 11, 21]
            : every <= 15
              ? [1, 15]
              : [];
  ctx.fillStyle = '#3d4852';
  ctx.strokeStyle = '#8a96a3';
  ctx.lineWidth = 1;
  let dayFree = -Infinity;
  for (let g = 0; g < groups; g++) {
    const inCol = days.slice(g * perCol, (g + 1) * perCol);
    const day = inCol.find((d) => !anchors || anchors.includes(Number(d.slice(8, 10))));
    if (!day) continue;
    const x = left + g * cw;
    if (x < dayFree) continue;
    const label = String(Number(day.slice(8, 10)));
    ctx.fillText(label, x + 1, TOP - 6);
    ctx.beginPath();
    ctx.moveTo(x + 0.5, TOP - 4);
    ctx.lineTo(x + 0.5, TOP);
    ctx.stroke();
    dayFree = x + ctx.measureText(label).width + 4;
  }
  // Month labels: over the first column, then over each column holding a month's first day.
  ctx.font = '600 11px system-ui, sans-serif';
  ctx.fillStyle = '#1d2329';
  let freeX = -Infinity;
  for (let g = 0; g < groups; g++) {
    const inCol = days.slice(g * perCol, (g + 1) * perCol);
    const starts = g === 0 ? inCol[0] : inCol.find((d) => d.endsWith('-01'));
    if (!starts) continue;
    const label = `${MONTHS[Number(starts.slice(5, 7)) - 1]} ${starts.slice(0, 4)}`;
    const x = left + g * cw;
    if (x < freeX) continue;
    ctx.fillText(label, x + 2, 11);
    ctx.beginPath();
    ctx.moveTo(x + 0.5, 2);
    ctx.lineTo(x + 0.5, TOP);
    ctx.stroke();
    freeX = x + ctx.measureText(label).width + 10;
  }
  ctx.restore();
}

const FILL: Record<string, string> = {
  r: '#2e9d5b',
  x: '#d64545',
  s: '#e0a526',
  m: '#9aa3ad',
  b: '#8e44ad',
  o: '#4a7fc1',
  '.': '#eef0f2',
};
const STATUS: Record<string, string> = {
  r: 'fresh',
  x: 'failed',
  s: 'stale',
  m: 'missing',
  b: 'blocked',
  o: 'source',
  '.': 'none',
};
