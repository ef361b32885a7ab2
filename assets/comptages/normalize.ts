/**
 * Value normalisation for road-count cells: traffic state labels or codes, arc state labels or codes,
 * and decimal numbers. Both readers (csv-parse and the byte-level one) must use these.
 */

export const ETATS_TRAFIC = ['Fluide', 'Pré-saturé', 'Saturé', 'Bloqué', 'Inconnu'] as const;
export type EtatTrafic = (typeof ETATS_TRAFIC)[number];

/** Severity rank used for tie-breaks and for merging the two rows of the repeated autumn hour. */
export const ETAT_SEVERITY: Record<EtatTrafic, number> = {
  Inconnu: 0,
  Fluide: 1,
  'Pré-saturé': 2,
  Saturé: 3,
  Bloqué: 4,
};

/** Official codes of the API/historique files (`etat_trafic`): 0 Inconnu … 4 Bloqué (PROVENANCE.md). */
const ETAT_TRAFIC_CODES: readonly EtatTrafic[] = ['Inconnu', 'Fluide', 'Pré-saturé', 'Saturé', 'Bloqué'];

/** Upper-case, accents removed, spaces/underscores/hyphens dropped: 'Pré-saturé' → 'PRESATURE'. */
const fold = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\s_-]+/g, '')
    .toUpperCase();

const ETAT_BY_FOLDED: Record<string, EtatTrafic> = {
  FLUIDE: 'Fluide',
  FLU: 'Fluide',
  PRESATURE: 'Pré-saturé',
  SATURE: 'Saturé',
  BLOQUE: 'Bloqué', // FIX (SPEC §5.8): the original left it upper-cased as 'BLOQUÉ'
  INCONNU: 'Inconnu',
  UNKNOWN: 'Inconnu',
  '': 'Inconnu',
};

/**
 * Normalised traffic state, or null when the text is not a known label or code (the caller counts
 * those and uses 'Inconnu'). Exact labels are matched first without folding (the common case).
 */
export function normalizeEtatTrafic(text: string): EtatTrafic | null {
  switch (text) {
    case 'Fluide':
    case 'Pré-saturé':
    case 'Saturé':
    case 'Bloqué':
    case 'Inconnu':
      return text;
  }
  if (/^[0-4]$/.test(text)) return ETAT_TRAFIC_CODES[Number(text)]!;
  return ETAT_BY_FOLDED[fold(text)] ?? null;
}

/** Official codes of `etat_barre`: 0 Inconnu, 1 Ouvert, 2 Barré, 3 Invalide (PROVENANCE.md). */
const ETAT_ARC_CODES = ['Inconnu', 'Ouvert', 'Barré', 'Invalide'] as const;

/** Arc state label: codes mapped to their labels, labels kept as written (trimmed), empty → 'Inconnu'. */
export function normalizeEtatArc(text: string): string {
  if (text === '') return 'Inconnu';
  if (/^[0-3]$/.test(text)) return ETAT_ARC_CODES[Number(text) as 0 | 1 | 2 | 3];
  return text;
}

// Unambiguous on purpose: the former /^-?(?:\d+\.?\d*|\.\d+)$/ backtracked quadratically on a long run
// of digits that ends badly ('999…9x': 100 KB took 8 s, so a 50 MB cell would never finish).
const PLAIN_NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)$/;
const COMMA_DECIMAL = /^-?\d+,\d+$/;

/**
 * Parses a decimal cell: '' → null, '12', '12.5', '-3' and the French '12,5' → number, anything else
 * (text, 'NaN', '1e3', hex) → undefined so the caller can reject the row with the right reason.
 */
export function parseDecimal(text: string): number | null | undefined {
  if (text === '') return null;
  if (PLAIN_NUMBER.test(text)) return Number(text);
  if (COMMA_DECIMAL.test(text)) return Number(text.replace(',', '.'));
  return undefined;
}
