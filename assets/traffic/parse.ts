/**
 * Public-transport disruptions (SPEC §1.2): Navitia/PRIM `{disruptions: [...]}` (snake_case) and the
 * PRIM bulk list variant (a bare array, camelCase `applicationPeriods`, `severity` as a string).
 */
import { z } from 'zod';
import type { Reject } from '../../engine/quarantine.ts';
import type { RawFile } from '../shared/csv-source.ts';
import { arrayElementLines, readJsonFile, rejectShape } from '../shared/json-source.ts';
import { parisLocalToUtcMs, validFields } from '../shared/paris-time.ts';

export type SeverityClass = 'CRITIQUE' | 'ELEVEE' | 'MOYENNE' | 'FAIBLE';

export interface Disruption {
  id: string;
  status: string | null;
  /**
   * Navitia severity priority (lower = more severe: IDFM uses 0 blocking, 30 disrupted, 60 information),
   * or the equivalent of a bulk severity label (see `BULK_SEVERITY_PRIORITY`). Orders within a class only.
   */
  priority: number;
  /** Navitia `severity.effect` (GTFS-RT effect: NO_SERVICE, SIGNIFICANT_DELAYS, OTHER_EFFECT…), null if absent. */
  effect: string | null;
  severity_class: SeverityClass;
  /** [start, end) instants in ms, from Paris local compact timestamps. */
  periods: { startMs: number; endMs: number }[];
  /** Metro lines '1'…'14' concerned. */
  lignes: string[];
  cause: string | null;
  file: string;
  line: number;
}

/**
 * Severity class of each Navitia effect (the GTFS-RT effects Navitia carries in `severity.effect`):
 * service interrupted ⇒ CRITIQUE; service running but degraded ⇒ ELEVEE; everything else (a changed,
 * added or moved service, an information notice, an unknown effect) ⇒ FAIBLE, i.e. information.
 */
export const EFFECT_CLASS: Readonly<Record<string, SeverityClass>> = {
  NO_SERVICE: 'CRITIQUE',
  REDUCED_SERVICE: 'ELEVEE',
  SIGNIFICANT_DELAYS: 'ELEVEE',
  DETOUR: 'ELEVEE',
  ADDITIONAL_SERVICE: 'FAIBLE',
  MODIFIED_SERVICE: 'FAIBLE',
  OTHER_EFFECT: 'FAIBLE',
  UNKNOWN_EFFECT: 'FAIBLE',
  STOP_MOVED: 'FAIBLE',
};

/** IDFM severity labels (Navitia `severity.name`, PRIM bulk `severity`), accents and case folded. */
export const LABEL_CLASS: Readonly<Record<string, SeverityClass>> = {
  BLOQUANTE: 'CRITIQUE',
  PERTURBEE: 'ELEVEE',
  INFORMATION: 'FAIBLE',
};

/**
 * Bulk severities carry no priority; these are the priorities IDFM gives the same labels in Navitia
 * (bloquante 0, perturbée 30, information 60), used only to order alerts within a class.
 */
export const BULK_SEVERITY_PRIORITY: Record<string, number> = {
  BLOQUANTE: 0,
  PERTURBEE: 30,
  INFORMATION: 60,
};

const COMPACT_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/;

/** `YYYYMMDDTHHMMSS` in Europe/Paris local time → epoch ms, null if malformed. */
export function parseCompactParis(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = COMPACT_RE.exec(text.trim());
  if (!m) return null;
  const f = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  return validFields(...f) ? parisLocalToUtcMs(...f) : null;
}

const foldLabel = (s: string): string => s.trim().toUpperCase().normalize('NFD').replace(/\p{M}/gu, '');

/**
 * Severity class on IDFM/Navitia's scale: the `effect` first, else the severity label, else MOYENNE
 * (severity not given). Never the priority: in Navitia a *lower* priority is *more* severe, and the
 * original's "priority ≥ 50 ⇒ CRITIQUE" classed information notices (priority 60) as critical.
 */
export function severityClass(effect: string | null | undefined, label?: string | null): SeverityClass {
  const byEffect = effect ? EFFECT_CLASS[foldLabel(effect)] : undefined;
  if (byEffect) return byEffect;
  const byLabel = label ? LABEL_CLASS[foldLabel(label)] : undefined;
  return byLabel ?? 'MOYENNE';
}

const METRO_LINES = new Set(Array.from({ length: 14 }, (_, i) => String(i + 1)));
/** '3bis'/'3B' → '3'; anything outside 1–14 → null. */
const metroLine = (code: string): string | null => {
  const n = /^(\d{1,2})(?:\s*bis|b)?$/i.exec(code.trim())?.[1];
  return n && METRO_LINES.has(String(Number(n))) ? String(Number(n)) : null;
};

/**
 * Tags (`<…>`) and `&nbsp;` become spaces. The same result as `s.replace(/<[^>]*>/g, ' ')` in one pass:
 * that regex retried from every `<` of a run without `>` (100,000 `<`: 13 s).
 */
function stripHtml(s: string): string {
  let out = '';
  let from = 0;
  for (let lt = s.indexOf('<'); lt !== -1; lt = s.indexOf('<', from)) {
    const gt = s.indexOf('>', lt + 1);
    if (gt === -1) break; // no '>' after this '<': no later '<' closes either
    out += s.slice(from, lt) + ' ';
    from = gt + 1;
  }
  return (out + s.slice(from)).replace(/&nbsp;/g, ' ');
}

/** Metro lines named in free text: "Métro 14", "Metro 3bis", "M 7" (bus "Ligne 8" is not a metro). */
export function metroLinesInText(text: string): string[] {
  const out: string[] = [];
  const clean = stripHtml(text);
  const matches = [
    ...clean.matchAll(/\bm[ée]tro\s*(\d{1,2}(?:\s*bis)?)\b/gi),
    ...clean.matchAll(/\bM(\d{1,2}(?:bis)?)\b/g),
  ];
  for (const m of matches) {
    const l = metroLine(m[1]!);
    if (l) out.push(l);
  }
  return out;
}

const sortLines = (lines: Iterable<string>): string[] =>
  [...new Set(lines)].sort((a, b) => Number(a) - Number(b));

const Period = z.object({ begin: z.unknown(), end: z.unknown() });
const NavitiaDisruption = z.object({
  id: z.string().min(1),
  status: z.string().nullish(),
  cause: z.string().nullish(),
  category: z.string().nullish(),
  severity: z
    .object({ priority: z.number().nullish(), effect: z.string().nullish(), name: z.string().nullish() })
    .nullish(),
  application_periods: z.array(Period),
  messages: z.array(z.object({ text: z.string().nullish() })).nullish(),
  impacted_objects: z
    .array(
      z.object({
        pt_object: z
          .object({
            embedded_type: z.string().nullish(),
            line: z
              .object({
                code: z.string().nullish(),
                commercial_mode: z.object({ name: z.string().nullish() }).nullish(),
              })
              .nullish(),
          })
          .nullish(),
      }),
    )
    .nullish(),
});
const BulkDisruption = z.object({
  id: z.string().min(1),
  cause: z.string().nullish(),
  severity: z.string().nullish(),
  applicationPeriods: z.array(Period),
  title: z.string().nullish(),
  message: z.string().nullish(),
  shortMessage: z.string().nullish(),
});

function periodsOf(raw: { begin: unknown; end: unknown }[]): Disruption['periods'] {
  const out: Disruption['periods'] = [];
  for (const p of raw) {
    const startMs = parseCompactParis(p.begin);
    const endMs = parseCompactParis(p.end);
    if (startMs !== null && endMs !== null && endMs >= startMs) out.push({ startMs, endMs });
  }
  return out;
}

function fromNavitia(d: z.infer<typeof NavitiaDisruption>): Omit<Disruption, 'file' | 'line' | 'periods'> {
  const lineObjects = (d.impacted_objects ?? []).flatMap((o) =>
    o.pt_object?.embedded_type === 'line' && o.pt_object.line ? [o.pt_object.line] : [],
  );
  let lignes: string[];
  if (lineObjects.length > 0) {
    // Structured data wins over text: only lines whose commercial mode is Métro.
    lignes = lineObjects.flatMap((l) =>
      /m[ée]tro/i.test(l.commercial_mode?.name ?? '')
        ? [metroLine(l.code ?? '')].filter((x) => x !== null)
        : [],
    );
  } else {
    lignes = (d.messages ?? []).flatMap((m) => metroLinesInText(m.text ?? ''));
    if (/metro/i.test(d.category ?? ''))
      lignes.push(
        ...[...(d.category ?? '').matchAll(/\d+/g)].map((m) => metroLine(m[0])).filter((x) => x !== null),
      );
  }
  const effect = d.severity?.effect ?? null;
  const label = d.severity?.name ?? null;
  const cls = severityClass(effect, label);
  return {
    id: d.id,
    status: d.status ?? null,
    // Missing priority: the IDFM priority of the label, else 0 (SPEC §1.2).
    priority: d.severity?.priority ?? (label ? BULK_SEVERITY_PRIORITY[foldLabel(label)] : undefined) ?? 0,
    effect,
    severity_class: cls,
    lignes: sortLines(lignes),
    cause: d.cause ?? null,
  };
}

function fromBulk(d: z.infer<typeof BulkDisruption>): Omit<Disruption, 'file' | 'line' | 'periods'> {
  const label = foldLabel(d.severity ?? '');
  return {
    id: d.id,
    status: null,
    priority: BULK_SEVERITY_PRIORITY[label] ?? 0,
    effect: null,
    severity_class: severityClass(null, label),
    lignes: sortLines(metroLinesInText(`${d.title ?? ''} ${d.shortMessage ?? ''} ${d.message ?? ''}`)),
    cause: d.cause ?? null,
  };
}

/** Parses one traffic snapshot file; bad disruptions are quarantined with their line. */
export async function parseTrafficFile(file: RawFile, reject: Reject): Promise<Disruption[]> {
  const read = await readJsonFile(file, reject);
  if (!read.ok) return [];
  const doc = read.value;
  const isEnvelope =
    typeof doc === 'object' && doc !== null && Array.isArray((doc as { disruptions?: unknown }).disruptions);
  if (!isEnvelope && !Array.isArray(doc)) {
    rejectShape(
      file,
      reject,
      'expected {"disruptions": [...]} (Navitia) or an array of disruptions (PRIM bulk)',
    );
    return [];
  }
  const items = (isEnvelope ? (doc as { disruptions: unknown[] }).disruptions : doc) as unknown[];
  const lines = arrayElementLines(read.text, isEnvelope ? ['disruptions'] : []);
  const out: Disruption[] = [];
  items.forEach((item, i) => {
    const line = lines[i] ?? 1;
    const raw = JSON.stringify(item);
    const bad = (reason: string, detail: string) => reject({ reason, file: file.key, line, detail, raw });
    const isBulk = typeof item === 'object' && item !== null && 'applicationPeriods' in item;
    const parsed = isBulk ? BulkDisruption.safeParse(item) : NavitiaDisruption.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return bad('invalid_record', `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    const rawPeriods = isBulk
      ? (parsed.data as z.infer<typeof BulkDisruption>).applicationPeriods
      : (parsed.data as z.infer<typeof NavitiaDisruption>).application_periods;
    const periods = periodsOf(rawPeriods);
    if (periods.length === 0) return bad('no_valid_period', `none of ${rawPeriods.length} periods parses`);
    const base = isBulk
      ? fromBulk(parsed.data as z.infer<typeof BulkDisruption>)
      : fromNavitia(parsed.data as z.infer<typeof NavitiaDisruption>);
    out.push({ ...base, periods, file: file.key, line });
  });
  return out;
}
