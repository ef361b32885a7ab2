/**
 * Contract of the road-count intermediate asset `comptages_arc_days`: one record per arc per Paris day,
 * holding that day's 24 local hours. Both road-count readers (csv-parse and the fast byte-level one)
 * must produce exactly these records, so every daily metric is computed from the same numbers.
 */
export interface ArcDay {
  arc_id: string;
  /** Paris calendar day YYYY-MM-DD. */
  day: string;
  libelle: string;
  /** Flow (vehicles/hour) per local hour 0..23; null = no value. */
  flow: (number | null)[];
  /** Occupancy (%) per local hour 0..23; null = no value. */
  occupancy: (number | null)[];
  /** Normalised `Etat trafic` per local hour (Fluide, Pré-saturé, Saturé, Bloqué, Inconnu); null = no row. */
  etat: (string | null)[];
  /** [lat, lon] from the row's geo_point_2d (first seen), null if absent. */
  geo_point: [number, number] | null;
  /** Haversine length (m) of the row's geo_shape LineString (first valid seen), null if absent. */
  row_length_m: number | null;
  /** Number of rows folded into this arc-day (duplicates excluded). */
  rows: number;
}
