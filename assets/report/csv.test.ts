import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { buildDailyReport } from './build.ts';
import { quoteCell, reportToCsv } from './csv.ts';
import { SUMMARY_FIGURES } from './schema.ts';
import { allInputs, DAY } from './test-fixtures.ts';

/** Splits the CSV into blocks by the blank separator line; each block's first line is its title. */
const blocks = (csv: string) =>
  csv
    .slice(0, -1)
    .split('\n\n')
    .map((b) => b.split('\n'));

describe('quoteCell', () => {
  it('quotes only cells with ; " CR or LF, doubling inner quotes', () => {
    expect(quoteCell('plain text, with comma')).toBe('plain text, with comma');
    expect(quoteCell('a;b')).toBe('"a;b"');
    expect(quoteCell('say "hi"')).toBe('"say ""hi"""');
    expect(quoteCell('two\nlines')).toBe('"two\nlines"');
    expect(quoteCell('cr\rhere')).toBe('"cr\rhere"');
    expect(quoteCell('')).toBe('');
  });
});

describe('reportToCsv', () => {
  const csv = reportToCsv(buildDailyReport(DAY, allInputs()));

  it('is UTF-8 text without BOM, LF only, ending with one newline', () => {
    expect(csv.charCodeAt(0)).not.toBe(0xfeff);
    expect(csv).not.toMatch(/\r/);
    expect(csv.endsWith('\n')).toBe(true);
    expect(csv.endsWith('\n\n')).toBe(false);
  });

  it('has one titled block per section, in order, separated by blank lines', () => {
    expect(blocks(csv).map((b) => b[0])).toEqual([
      '=== RAPPORT ===',
      '=== RÉSUMÉ ===',
      '=== TOP 10 TRONÇONS ===',
      '=== TOP 10 ZONES ===',
      '=== ALERTES CONGESTION ===',
      '=== CAPTEURS DÉFAILLANTS ===',
      '=== CHANTIERS ACTIFS ===',
      '=== PERTURBATIONS ===',
      '=== ALERTES PERTURBATIONS ===',
      '=== MÉTÉO ===',
      '=== RÉFÉRENTIEL ===',
      '=== ÉVOLUTION VS SEMAINE PRÉCÉDENTE (2025-10-28) ===',
    ]);
  });

  it('writes numbers with the fixed decimals of their column and null as an empty cell', () => {
    const [, ...summary] = blocks(csv)[1]!;
    expect(summary.slice(0, 5)).toEqual([
      'Indicateur;Valeur;Unité',
      'Total véhicules Paris;30000.00;véhicules',
      'Temps perdu total;900.00;min',
      'Tronçons saturés;1.00;tronçons',
      // 66.666… with 2 decimals
      'Taux disponibilité capteurs routiers;66.67;%',
    ]);
    expect(blocks(csv)[2]).toEqual([
      '=== TOP 10 TRONÇONS ===',
      'Rang;Identifiant arc;Libellé;Arrondissement;Débit journalier total (véh);Temps perdu (min);Taux occupation moyen (%);État trafic dominant',
      '1;4264;AV_Champs_Elysees;75008;20000;900.00;85.50;Bloqué',
      // taux_occupation_moyen null → empty cell
      '2;5671;Convention;75015;10000;0.00;;Fluide',
    ]);
    expect(blocks(csv)[6]).toEqual([
      '=== CHANTIERS ACTIFS ===',
      'Identifiant;Typologie;Impact;Arrondissement;Date début;Date fin;Surface (m²)',
      'CP002664;2;IMPASSE;;2025-09-01;2025-12-19;120.50',
      'CP002669;2;RESTREINTE;75010;2025-09-01;2025-12-19;120.50',
    ]);
  });

  it('quotes a label holding ; and quotes, and csv-parse reads the section back intact', () => {
    const r = buildDailyReport(DAY, allInputs());
    r.capteurs_defaillants.push({
      type: 'velo',
      identifiant: 'x-1',
      libelle: '28 boulevard Diderot; O-E "test"\nsecond line',
      raisons: ['no_counts', 'too_few_hours'],
    });
    const block = reportToCsv(r).split('=== CAPTEURS DÉFAILLANTS ===\n')[1]!.split('\n\n')[0]!;
    expect(block).toContain(
      'velo;x-1;"28 boulevard Diderot; O-E ""test""\nsecond line";no_counts, too_few_hours',
    );
    const rows = parse(block, { delimiter: ';' }) as string[][];
    expect(rows.at(-1)).toEqual([
      'velo',
      'x-1',
      '28 boulevard Diderot; O-E "test"\nsecond line',
      'no_counts, too_few_hours',
    ]);
    expect(rows.every((row) => row.length === 4)).toBe(true);
  });

  it('writes the unavailable evolution as a one-row note', () => {
    expect(blocks(csv).at(-1)).toEqual([
      '=== ÉVOLUTION VS SEMAINE PRÉCÉDENTE (2025-10-28) ===',
      'Disponible;Note',
      'non;no report for 2025-10-28',
    ]);
  });

  it('writes the available evolution per figure, with empty cells for undefined changes', () => {
    const prev = buildDailyReport('2025-10-28', { ...allInputs(), bikes: undefined });
    const last = blocks(reportToCsv(buildDailyReport(DAY, allInputs(), prev))).at(-1)!;
    expect(last.slice(0, 3)).toEqual([
      '=== ÉVOLUTION VS SEMAINE PRÉCÉDENTE (2025-10-28) ===',
      'Indicateur;Valeur;Valeur semaine précédente;Variation (%)',
      'total_vehicules_paris;30000.00;30000.00;0.00',
    ]);
    // bikes missing a week before → previous value and change empty
    expect(last).toContain('total_velos_paris;1200.00;;');
    expect(last).toHaveLength(2 + 8);
  });

  it('keeps a titled header even for empty sections', () => {
    const empty = blocks(reportToCsv(buildDailyReport(DAY, {})));
    expect(empty[0]).toEqual([
      '=== RAPPORT ===',
      'Date;Sources manquantes',
      '2025-11-04;bikes, traffic, weather, comptages, chantiers, referentiel',
    ]);
    expect(empty[4]).toEqual([
      '=== ALERTES CONGESTION ===',
      'Identifiant arc;Libellé;Arrondissement;Heures congestionnées consécutives;Taux occupation max (%);Temps perdu (min);Sévérité',
    ]);
  });
});

describe('determinism across storage backends', () => {
  it('writes the evolution rows in the fixed figure order whatever the key order of the stored report', () => {
    const prev = buildDailyReport('2025-10-28', {});
    const report = buildDailyReport('2025-11-04', {}, prev);
    if (!report.evolution_vs_semaine_precedente.available) throw new Error('expected an evolution');
    // Same report with its evolution keys reversed, as a database map may return them.
    const ind = report.evolution_vs_semaine_precedente.indicateurs;
    const reversed = Object.fromEntries(Object.entries(ind).reverse()) as typeof ind;
    const shuffled = {
      ...report,
      evolution_vs_semaine_precedente: { ...report.evolution_vs_semaine_precedente, indicateurs: reversed },
    };
    expect(reportToCsv(shuffled)).toBe(reportToCsv(report));
    const lines = reportToCsv(report).split('\n');
    const first = lines.findIndex((l) => l.startsWith(SUMMARY_FIGURES[0] + ';'));
    expect(lines.slice(first, first + SUMMARY_FIGURES.length).map((l) => l.split(';')[0])).toEqual([
      ...SUMMARY_FIGURES,
    ]);
  });
});
