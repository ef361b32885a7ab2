/**
 * The daily report as one `;`-separated CSV (SPEC §3.3, fixed per §5.12): UTF-8 without BOM, LF line
 * ends, one block per section (`=== TITLE ===` line, a header row, the data rows), a blank line
 * between blocks. Cells holding `;`, `"`, CR or LF are quoted with inner quotes doubled (RFC 4180).
 * Numbers are plain JS notation with a fixed number of decimals per column (`toFixed`); null is an
 * empty cell. Every column is documented in docs/report.md.
 */
import { SUMMARY_FIGURES, type DailyReport } from './schema.ts';

type Cell = string | number | null;

/** A column of numbers with `d` decimals. */
const num =
  (d: number) =>
  (x: number | null): Cell =>
    x === null ? null : x.toFixed(d);
const int = num(0);
const dec1 = num(1);
const dec2 = num(2);

/** Quotes a cell only when it has to (the separator, a quote or a line break in it). */
export function quoteCell(value: string): string {
  return /[;"\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const line = (cells: readonly Cell[]): string =>
  cells.map((c) => (c === null ? '' : quoteCell(String(c)))).join(';');

interface Section {
  title: string;
  header: string[];
  rows: Cell[][];
}

function sections(r: DailyReport): Section[] {
  const s = r.summary;
  const p = r.perturbations;
  const ev = r.evolution_vs_semaine_precedente;
  const summaryRows: [string, Cell, string][] = [
    ['Total véhicules Paris', dec2(s.total_vehicules_paris), 'véhicules'],
    ['Temps perdu total', dec2(s.temps_perdu_total_minutes), 'min'],
    ['Tronçons saturés', dec2(s.nombre_troncons_satures), 'tronçons'],
    ['Taux disponibilité capteurs routiers', dec2(s.taux_disponibilite_capteurs), '%'],
    ['Total vélos Paris', dec2(s.total_velos_paris), 'vélos'],
    ['Perturbations actives', dec2(s.perturbations_actives), 'perturbations'],
    ['Chantiers actifs', dec2(s.chantiers_actifs), 'chantiers'],
    ['Température moyenne', dec2(s.temperature_moyenne), '°C'],
    ['Météo', s.meteo_resume, ''],
  ];
  return [
    {
      title: 'RAPPORT',
      header: ['Date', 'Sources manquantes'],
      rows: [[r.date, r.sources_manquantes.join(', ')]],
    },
    { title: 'RÉSUMÉ', header: ['Indicateur', 'Valeur', 'Unité'], rows: summaryRows },
    {
      title: 'TOP 10 TRONÇONS',
      header: [
        'Rang',
        'Identifiant arc',
        'Libellé',
        'Arrondissement',
        'Débit journalier total (véh)',
        'Temps perdu (min)',
        'Taux occupation moyen (%)',
        'État trafic dominant',
      ],
      rows: r.top_10_troncons.map((t) => [
        t.rang,
        t.arc_id,
        t.libelle,
        t.arrondissement,
        int(t.debit_journalier_total),
        dec2(t.temps_perdu_total_minutes),
        dec2(t.taux_occupation_moyen),
        t.etat_trafic_dominant,
      ]),
    },
    {
      title: 'TOP 10 ZONES',
      header: [
        'Rang',
        'Arrondissement',
        'Tronçons',
        'Total véhicules',
        'Temps perdu (min)',
        'Tronçons saturés',
        'Taux saturation (%)',
      ],
      rows: r.top_10_zones.map((z) => [
        z.rang,
        z.arrondissement,
        z.nombre_troncons,
        int(z.total_vehicules),
        dec2(z.temps_perdu_total_minutes),
        z.nombre_troncons_satures,
        dec2(z.taux_saturation),
      ]),
    },
    {
      title: 'ALERTES CONGESTION',
      header: [
        'Identifiant arc',
        'Libellé',
        'Arrondissement',
        'Heures congestionnées consécutives',
        'Taux occupation max (%)',
        'Temps perdu (min)',
        'Sévérité',
      ],
      rows: r.alertes_congestion.map((a) => [
        a.arc_id,
        a.libelle,
        a.arrondissement,
        a.heures_congestion_max,
        dec2(a.taux_occupation_max),
        dec2(a.temps_perdu_total_minutes),
        a.severite,
      ]),
    },
    {
      title: 'CAPTEURS DÉFAILLANTS',
      header: ['Type', 'Identifiant', 'Libellé', 'Raisons'],
      rows: r.capteurs_defaillants.map((c) => [c.type, c.identifiant, c.libelle, c.raisons.join(', ')]),
    },
    {
      title: 'CHANTIERS ACTIFS',
      header: [
        'Identifiant',
        'Typologie',
        'Impact',
        'Arrondissement',
        'Date début',
        'Date fin',
        'Surface (m²)',
      ],
      rows: r.chantiers_actifs.map((c) => [
        c.identifiant,
        c.typologie,
        c.impact,
        c.arrondissement,
        c.date_debut,
        c.date_fin,
        dec2(c.surface_m2),
      ]),
    },
    {
      title: 'PERTURBATIONS',
      header: ['Indicateur', 'Valeur'],
      rows: p
        ? [
            ['Perturbations connues', p.total],
            ['Perturbations actives', p.actives],
            ['Sévérité CRITIQUE', p.par_severite.CRITIQUE],
            ['Sévérité ELEVEE', p.par_severite.ELEVEE],
            ['Sévérité MOYENNE', p.par_severite.MOYENNE],
            ['Sévérité FAIBLE', p.par_severite.FAIBLE],
            ['Indice de fiabilité métro (%)', dec2(p.indice_fiabilite)],
            ['Durée totale (h)', dec2(p.duree_totale_heures)],
            ['Alertes', p.nombre_alertes],
            [
              'Lignes de métro impactées',
              p.lignes_impactees.map((l) => `${l.ligne} (${l.perturbations})`).join(', '),
            ],
          ]
        : [],
    },
    {
      title: 'ALERTES PERTURBATIONS',
      header: ['Identifiant', 'Sévérité', 'Priorité', 'Durée (h)', 'Lignes'],
      rows: (p?.alertes ?? []).map((a) => [
        a.id,
        a.severite,
        int(a.priorite),
        dec2(a.duree_heures),
        a.lignes.join(', '),
      ]),
    },
    {
      title: 'MÉTÉO',
      header: [
        'Date',
        'Température moyenne (°C)',
        'Température min (°C)',
        'Température max (°C)',
        'Précipitations (mm)',
        'Vent moyen (km/h)',
        'Conditions',
        'Impact mobilité (0-100)',
        'Catégories',
        'Source',
        'Note',
      ],
      rows: r.meteo
        ? [
            [
              r.meteo.date,
              dec1(r.meteo.temp_moyenne),
              dec1(r.meteo.temp_min),
              dec1(r.meteo.temp_max),
              dec1(r.meteo.precip_totale),
              dec1(r.meteo.vent_moyen),
              r.meteo.conditions,
              dec1(r.meteo.impact_mobilite),
              r.meteo.categories.join(', '),
              r.meteo.source,
              r.meteo.note,
            ],
          ]
        : [],
    },
    {
      title: 'RÉFÉRENTIEL',
      header: ['Tronçons référencés', 'Longueur totale (m)', 'Couverture des tronçons mesurés (%)'],
      rows: r.referentiel
        ? [
            [
              r.referentiel.nombre_troncons,
              dec2(r.referentiel.longueur_totale_metres),
              dec2(r.referentiel.couverture_troncons_mesures),
            ],
          ]
        : [],
    },
    ev.available
      ? {
          title: `ÉVOLUTION VS SEMAINE PRÉCÉDENTE (${ev.date_reference})`,
          header: ['Indicateur', 'Valeur', 'Valeur semaine précédente', 'Variation (%)'],
          // Fixed figure order: a report read back from a database may list its keys in any order.
          rows: SUMMARY_FIGURES.map((k) => [
            k,
            dec2(ev.indicateurs[k].valeur),
            dec2(ev.indicateurs[k].valeur_semaine_precedente),
            dec2(ev.indicateurs[k].variation_pct),
          ]),
        }
      : {
          title: `ÉVOLUTION VS SEMAINE PRÉCÉDENTE (${ev.date_reference})`,
          header: ['Disponible', 'Note'],
          rows: [['non', ev.note]],
        },
  ];
}

export function reportToCsv(report: DailyReport): string {
  return sections(report)
    .map((s) => [`=== ${s.title} ===`, line(s.header), ...s.rows.map(line)].join('\n') + '\n')
    .join('\n');
}
