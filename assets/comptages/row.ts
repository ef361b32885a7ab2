import type { EtatTrafic } from './normalize.ts';

/**
 * One validated road-count row: the plain input of `ArcDayAccumulator.add`, produced by the csv-parse
 * reader (`parse.ts`) and by any faster reader that must yield exactly the same values.
 */
export interface ComptagesRow {
  arc_id: string;
  libelle: string;
  /** Instant of the count (epoch ms). */
  instant: number;
  /** Paris civil day YYYY-MM-DD of the instant. */
  day: string;
  /** Paris local hour 0..23 of the instant. */
  hour: number;
  /** Paris UTC offset at the instant (60 or 120); tells the two rows of the repeated autumn hour apart. */
  offset_minutes: number;
  /** Vehicles during the hour; null when the cell is empty. */
  flow: number | null;
  /** Occupancy in percent 0..100; null when the cell is empty. Parsed independently of `flow`. */
  occupancy: number | null;
  etat: EtatTrafic;
  /** `Etat arc` / `etat_barre` as a label (Ouvert, Barré, Invalide, Inconnu, …). Informative only. */
  etat_arc: string;
  /** [lat, lon] of `geo_point_2d`, null if absent or unparsable. */
  geo_point: [number, number] | null;
  /** Raw `geo_shape` GeoJSON text (parsed lazily, once per arc-day, by the accumulator). */
  geo_shape_text: string | null;
}
