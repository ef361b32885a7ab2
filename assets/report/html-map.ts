/**
 * The arrondissements of Paris as an SVG map, from the official polygons (assets/geo), each coloured by
 * a value (traffic, road works): one `<path class="arr" data-code="750NN">` per arrondissement.
 */
import { arrondissementShapes } from '../geo/arrondissements.ts';
import { esc, fmt } from './html-svg.ts';

export function arrondissementMap(
  title: string,
  values: ReadonlyMap<string, number>,
  opts: { color: [number, number, number]; unit: string; width?: number },
): string {
  const shapes = arrondissementShapes();
  const width = opts.width ?? 440;
  let [minLon, minLat, maxLon, maxLat] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const s of shapes)
    for (const part of s.parts)
      for (const [lon, lat] of part[0] ?? []) {
        minLon = Math.min(minLon, lon);
        maxLon = Math.max(maxLon, lon);
        minLat = Math.min(minLat, lat);
        maxLat = Math.max(maxLat, lat);
      }
  // Equirectangular with the latitude's scale: right enough for a city.
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const sx = (width - 20) / ((maxLon - minLon) * k);
  const height = Math.round((maxLat - minLat) * sx) + 20;
  const px = (lon: number) => (10 + (lon - minLon) * k * sx).toFixed(1);
  const py = (lat: number) => (10 + (maxLat - lat) * sx).toFixed(1);
  const max = Math.max(0, ...values.values());
  const [r, g, b] = opts.color;
  const paths = shapes
    .map((s) => {
      const v = values.get(s.code);
      const a = v === undefined || max === 0 ? 0 : 0.15 + 0.85 * (v / max);
      const fill = v === undefined ? '#eceff1' : `rgba(${r},${g},${b},${a.toFixed(2)})`;
      const d = s.parts
        .map((rings) =>
          rings
            .map((ring) => 'M' + ring.map(([lon, lat]) => `${px(lon)},${py(lat)}`).join('L') + 'Z')
            .join(''),
        )
        .join('');
      const n = Number(s.code.slice(3));
      return `<path class="arr" data-code="${s.code}" d="${d}" fill="${fill}" stroke="#fff" stroke-width="1"><title>${n}${n === 1 ? 'er' : 'e'} arr. — ${v === undefined ? 'aucune donnée' : esc(fmt(v)) + ' ' + esc(opts.unit)}</title></path>`;
    })
    .join('');
  return `<svg class="map chart" role="img" aria-label="${esc(title)}" data-series="1" viewBox="0 0 ${width} ${height + 24}" width="${width}" height="${height + 24}"><text class="t" x="0" y="16">${esc(title)}</text><g class="series" transform="translate(0,20)">${paths}</g></svg>`;
}
