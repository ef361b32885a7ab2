/**
 * The daily report as a person reads it: one self-contained HTML document (inline CSS and SVG, no
 * script, nothing fetched): headline figures with week-over-week changes, charts, the arrondissements
 * map, alerts and works; a missing source is said missing where its figures would be. A pure function
 * of the report and, when given, the week of reports before it and the day's bike counters.
 */
import { arrondissementMap } from './html-map.ts';
import { barChart, esc, fmt, lineChart } from './html-svg.ts';
import type { DailyReport, ReportSource, SummaryFigure } from './schema.ts';

export interface ReportHtmlContext {
  /** The reports of the 7 days ending with this one, oldest first (undefined: none that day). */
  week?: (DailyReport | undefined)[];
  /** The day's bike counters (bikes_metrics), if stored. */
  bikeCounters?: { name: string; total: number }[];
}

const FIGURES: { key: SummaryFigure; label: string; unit: string; digits?: number }[] = [
  { key: 'total_vehicules_paris', label: 'Véhicules comptés', unit: '' },
  { key: 'total_velos_paris', label: 'Vélos comptés', unit: '' },
  { key: 'temps_perdu_total_minutes', label: 'Temps perdu', unit: ' min' },
  { key: 'nombre_troncons_satures', label: 'Tronçons saturés', unit: '' },
  { key: 'perturbations_actives', label: 'Perturbations actives', unit: '' },
  { key: 'chantiers_actifs', label: 'Chantiers actifs', unit: '' },
  { key: 'temperature_moyenne', label: 'Température moyenne', unit: ' °C', digits: 1 },
  { key: 'taux_disponibilite_capteurs', label: 'Capteurs disponibles', unit: ' %', digits: 0 },
];

const SOURCE_LABEL: Record<ReportSource, string> = {
  bikes: 'compteurs vélo',
  traffic: 'perturbations (transports)',
  weather: 'météo',
  comptages: 'comptages routiers',
  chantiers: 'chantiers',
  referentiel: 'référentiel routier',
};

export function renderReportHtml(report: DailyReport, ctx: ReportHtmlContext = {}): string {
  const missing = new Set(report.sources_manquantes);
  const missingNote = (s: ReportSource) =>
    missing.has(s)
      ? `<p class="missing" data-missing="${s}">Source manquante ce jour : ${esc(SOURCE_LABEL[s])}.</p>`
      : '';
  const evo = report.evolution_vs_semaine_precedente;

  const cards = FIGURES.map((f) => {
    const v = report.summary[f.key];
    const e = evo.available ? evo.indicateurs[f.key] : undefined;
    const pct = e?.variation_pct;
    const change =
      pct === null || pct === undefined
        ? `<span class="chg">${evo.available ? 'pas de comparaison' : ''}</span>`
        : `<span class="chg ${pct >= 0 ? 'up' : 'down'}">${pct >= 0 ? '▲' : '▼'} ${esc(fmt(Math.abs(pct), 1))} % vs ${esc(evo.date_reference)}</span>`;
    return `<div class="card" data-figure="${f.key}"><div class="label">${esc(f.label)}</div><div class="value">${v === null ? '<span class="na">manquant</span>' : esc(fmt(v, f.digits ?? 0)) + esc(f.unit)}</div>${change}</div>`;
  }).join('');

  const p = report.perturbations;
  const severity = p
    ? barChart(
        'Perturbations par sévérité',
        (['CRITIQUE', 'ELEVEE', 'MOYENNE', 'FAIBLE'] as const).map((k) => ({
          label: k,
          value: p.par_severite[k],
        })),
        { color: '#c0392b' },
      )
    : '';
  const lines = p?.lignes_impactees.length
    ? barChart(
        'Perturbations par ligne',
        p.lignes_impactees.slice(0, 12).map((l) => ({ label: `Ligne ${l.ligne}`, value: l.perturbations })),
        { color: '#8e44ad' },
      )
    : p
      ? '<p class="muted">Aucune ligne nommée dans les perturbations.</p>'
      : '';

  const zones = report.top_10_zones.length
    ? barChart(
        'Trafic par arrondissement (véhicules)',
        report.top_10_zones.map((z) => ({ label: arrName(z.arrondissement), value: z.total_vehicules })),
        { color: '#2f6db5' },
      )
    : '';
  const sections = report.top_10_troncons.length
    ? barChart(
        'Tronçons les plus chargés (débit journalier)',
        report.top_10_troncons.map((t) => ({ label: t.libelle, value: t.debit_journalier_total })),
        { color: '#16a085' },
      )
    : '';
  const bikes = ctx.bikeCounters?.length
    ? barChart(
        'Comptages vélo par compteur',
        ctx.bikeCounters.slice(0, 12).map((c) => ({ label: c.name, value: c.total })),
        { color: '#27ae60' },
      )
    : '';

  const week = ctx.week ?? [];
  const days = week.length ? week.map((r, i) => r?.date ?? shiftDay(report.date, i - week.length + 1)) : [];
  const weatherTraffic = week.length
    ? lineChart('Météo et trafic sur 7 jours', days, [
        {
          name: 'Véhicules',
          color: '#2f6db5',
          values: week.map((r) => r?.summary.total_vehicules_paris ?? null),
        },
        { name: 'Vélos', color: '#27ae60', values: week.map((r) => r?.summary.total_velos_paris ?? null) },
        {
          name: 'Température °C',
          color: '#e67e22',
          values: week.map((r) => r?.summary.temperature_moyenne ?? null),
          right: true,
        },
      ])
    : '';

  const traffic = new Map(report.top_10_zones.map((z) => [z.arrondissement, z.total_vehicules]));
  const works = new Map<string, number>();
  for (const c of report.chantiers_actifs)
    if (c.arrondissement) works.set(c.arrondissement, (works.get(c.arrondissement) ?? 0) + 1);

  const alerts = report.alertes_congestion.length
    ? `<table><thead><tr><th>Tronçon</th><th>Arr.</th><th>Heures</th><th>Occupation max</th><th>Temps perdu</th><th>Sévérité</th></tr></thead><tbody>${report.alertes_congestion
        .map(
          (a) =>
            `<tr><td>${esc(a.libelle)}</td><td>${esc(a.arrondissement ? arrName(a.arrondissement) : '—')}</td><td>${a.heures_congestion_max}</td><td>${esc(fmt(a.taux_occupation_max, 1))} %</td><td>${esc(fmt(a.temps_perdu_total_minutes))} min</td><td>${esc(a.severite)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">Aucune alerte de congestion.</p>';
  const sensors = report.capteurs_defaillants.length
    ? `<ul>${report.capteurs_defaillants.map((c) => `<li>${c.type === 'route' ? 'Route' : 'Vélo'} ${esc(c.libelle)} — ${esc(c.raisons.join(', '))}</li>`).join('')}</ul>`
    : '<p class="muted">Aucun capteur défaillant.</p>';

  return `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rapport mobilité Paris — ${esc(report.date)}</title>
<style>${CSS}</style></head><body>
<header><h1>Mobilité à Paris — ${esc(longDate(report.date))}</h1>
<p class="muted">${report.summary.meteo_resume ? esc(report.summary.meteo_resume) : 'Météo manquante'}${missing.size ? ` · <strong>Sources manquantes :</strong> ${[...missing].map((s) => esc(SOURCE_LABEL[s])).join(', ')}` : ''}</p></header>
<section class="cards">${cards}</section>
${evo.available ? '' : `<p class="muted">${esc(evo.note)}</p>`}
<section class="grid">
<div class="box"><h2>Trafic routier</h2>${missingNote('comptages')}${zones}${sections}</div>
<div class="box"><h2>Carte des arrondissements</h2>${missingNote('comptages')}${arrondissementMap('Trafic par arrondissement', traffic, { color: [47, 109, 181], unit: 'véhicules' })}${missingNote('chantiers')}${arrondissementMap('Chantiers actifs par arrondissement', works, { color: [211, 84, 0], unit: 'chantiers' })}</div>
<div class="box"><h2>Transports en commun</h2>${missingNote('traffic')}${severity}${lines}${p ? `<p>Indice de fiabilité : <strong>${esc(fmt(p.indice_fiabilite, 1))} %</strong>, ${p.actives} actives sur ${p.total}.</p>` : ''}</div>
<div class="box"><h2>Vélo et météo</h2>${missingNote('bikes')}${bikes}${missingNote('weather')}${weatherTraffic}</div>
<div class="box wide"><h2>Alertes de congestion</h2>${alerts}<h2>Capteurs défaillants</h2>${sensors}</div>
</section>
<footer class="muted">Données : Ville de Paris (ODbL), Île-de-France Mobilités, Open-Meteo (CC BY 4.0). Polygones des arrondissements : opendata.paris.fr (ODbL). Généré par CityFlow.</footer>
</body></html>
`;
}

const arrName = (code: string): string => {
  const n = Number(code.slice(3));
  return Number.isInteger(n) && n >= 1 && n <= 20 ? `${n}${n === 1 ? 'er' : 'e'}` : code;
};

const longDate = (day: string): string =>
  new Date(`${day}T12:00:00Z`).toLocaleDateString('fr-FR', {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });

export const shiftDay = (day: string, by: number): string =>
  new Date(Date.parse(`${day}T12:00:00Z`) + by * 86_400_000).toISOString().slice(0, 10);

const CSS = `body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2329;margin:0;padding:16px 24px;background:#f7f8fa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:4px 0 8px}.muted{color:#6b7785}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin:12px 0}
.card{background:#fff;border:1px solid #dde2e7;border-radius:8px;padding:10px 12px}
.card .label{color:#5b6672;font-size:12px}.card .value{font-size:22px;font-weight:600}
.chg{font-size:12px;color:#6b7785}.chg.up{color:#1f7a45}.chg.down{color:#b3261e}.na{color:#b3261e;font-size:15px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:12px}.box{background:#fff;border:1px solid #dde2e7;border-radius:8px;padding:10px 14px;overflow:auto}
.wide{grid-column:1/-1}svg.chart{display:block;margin:6px 0 12px;max-width:100%;height:auto}svg text{font-size:11px;fill:#333}svg text.t{font-size:13px;font-weight:600}
.missing{background:#fff4e5;border-left:4px solid #e67e22;padding:4px 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eef0f2}
footer{margin-top:16px;font-size:12px}
@media print{body{background:#fff}.box,.card{break-inside:avoid}}`;
