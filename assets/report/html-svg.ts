/**
 * Small SVG charts as strings, for the report page (drawn on the server: the page carries no script).
 * Each chart is one `<svg class="chart" data-series="N">` with one `<g class="series">` per series, so
 * a reader (or a test) can tell that it drew and how many series it has.
 */

export const esc = (v: unknown): string =>
  String(v).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export const fmt = (n: number, digits = 0): string =>
  n
    .toLocaleString('fr-FR', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
    .replace(/\u202f/g, ' ');

export interface Bar {
  label: string;
  value: number;
}

/** Horizontal bars, one series; `note` when there is nothing to draw. */
export function barChart(
  title: string,
  bars: Bar[],
  opts: { color?: string; unit?: string; width?: number } = {},
): string {
  const width = opts.width ?? 460;
  const row = 22;
  const labelW = 150;
  const h = Math.max(1, bars.length) * row + 34;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const plot = width - labelW - 70;
  const color = opts.color ?? '#2f6db5';
  const rects = bars
    .map((b, i) => {
      const w = Math.max(1, (b.value / max) * plot);
      const y = 26 + i * row;
      return `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${esc(b.label.slice(0, 24))}</text><rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 7}" fill="${color}"><title>${esc(b.label)}: ${esc(fmt(b.value, 1))}${esc(opts.unit ?? '')}</title></rect><text x="${(labelW + w + 4).toFixed(1)}" y="${y + 14}">${esc(fmt(b.value, 1))}</text>`;
    })
    .join('');
  return `<svg class="chart" role="img" aria-label="${esc(title)}" data-series="1" viewBox="0 0 ${width} ${h}" width="${width}" height="${h}"><text class="t" x="0" y="16">${esc(title)}</text><g class="series">${rects}</g></svg>`;
}

export interface Series {
  name: string;
  color: string;
  /** One value per x label (null: no value that day). */
  values: (number | null)[];
  /** Scaled on its own (right axis) rather than the left one. */
  right?: boolean;
}

/** Lines over shared x labels (e.g. the days of a week); two y scales (left, right). */
export function lineChart(
  title: string,
  labels: string[],
  series: Series[],
  opts: { width?: number } = {},
): string {
  const width = opts.width ?? 460;
  const height = 220;
  const [l, r, t, b] = [46, 46, 28, 36];
  const pw = width - l - r;
  const ph = height - t - b;
  const x = (i: number) => l + (labels.length <= 1 ? pw / 2 : (i / (labels.length - 1)) * pw);
  const scale = (right: boolean) => {
    const vals = series
      .filter((s) => !!s.right === right)
      .flatMap((s) => s.values.filter((v): v is number => v !== null));
    const lo = Math.min(0, ...vals);
    const hi = Math.max(1, ...vals);
    return { lo, hi, y: (v: number) => t + ph - ((v - lo) / (hi - lo || 1)) * ph };
  };
  const left = scale(false);
  const rightS = scale(true);
  const paths = series
    .map((s) => {
      const sc = s.right ? rightS : left;
      const pts = s.values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${sc.y(v).toFixed(1)}`));
      const d = pts.reduce(
        (acc, p, i) => (p === null ? acc : acc + `${acc && pts[i - 1] !== null ? 'L' : 'M'}${p}`),
        '',
      );
      const dots = pts
        .map((p) =>
          p ? `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${s.color}"/>` : '',
        )
        .join('');
      return `<g class="series" data-name="${esc(s.name)}"><path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}</g>`;
    })
    .join('');
  const xl = labels
    .map(
      (d, i) =>
        `<text x="${x(i).toFixed(1)}" y="${height - 18}" text-anchor="middle">${esc(d.slice(5))}</text>`,
    )
    .join('');
  const axis = (sc: { lo: number; hi: number; y: (v: number) => number }, at: number, anchor: string) =>
    [sc.lo, (sc.lo + sc.hi) / 2, sc.hi]
      .map((v) => `<text x="${at}" y="${sc.y(v) + 4}" text-anchor="${anchor}">${esc(fmt(v))}</text>`)
      .join('');
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${l + i * 150}" y="${height - 11}" width="10" height="10" fill="${s.color}"/><text x="${l + i * 150 + 14}" y="${height - 2}">${esc(s.name)}${s.right ? ' (→)' : ''}</text>`,
    )
    .join('');
  return `<svg class="chart" role="img" aria-label="${esc(title)}" data-series="${series.length}" viewBox="0 0 ${width} ${height + 6}" width="${width}" height="${height + 6}"><text class="t" x="0" y="16">${esc(title)}</text><line x1="${l}" y1="${t + ph}" x2="${l + pw}" y2="${t + ph}" stroke="#ccc"/>${axis(left, l - 6, 'end')}${series.some((s) => s.right) ? axis(rightS, l + pw + 6, 'start') : ''}${paths}${xl}${legend}</svg>`;
}
