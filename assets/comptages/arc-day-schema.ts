/**
 * The schema of a `comptages_arc_days` value (the columns are described in arc-day-table.ts). Declared
 * as a function of the apache-arrow module (engine/table.ts): loading the Paris definitions — a no-op
 * run, `pipeline list` — does not load apache-arrow; it loads when a day table is built or read.
 */
import type * as Arrow from 'apache-arrow';
import { tableSchema } from '../../engine/table.ts';

const HOURS = 24;
/** A fixed dictionary id: the same table always encodes to the same bytes (the data version). */
const ETAT_DICTIONARY_ID = 0;

/** FixedSizeList[24] of `type`: one value per hour of the day. */
export const hourlyType = <T extends Arrow.Float64 | Arrow.Dictionary<Arrow.Utf8, Arrow.Int8>>(
  A: typeof Arrow,
  type: T,
) => new A.FixedSizeList(HOURS, new A.Field('hour', type, true));

/** The Etat trafic codes: Int8 into a dictionary of Utf8 names. */
export const etatType = (A: typeof Arrow) => new A.Dictionary(new A.Utf8(), new A.Int8(), ETAT_DICTIONARY_ID);

export const ArcDayTableSchema = tableSchema((A) => ({
  arc_id: { type: new A.Utf8(), nullable: false },
  day: { type: new A.Utf8(), nullable: false },
  libelle: { type: new A.Utf8(), nullable: false },
  flow: { type: hourlyType(A, new A.Float64()), nullable: false },
  occupancy: { type: hourlyType(A, new A.Float64()), nullable: false },
  etat: { type: hourlyType(A, etatType(A)), nullable: false },
  geo_point: new A.FixedSizeList(2, new A.Field('coordinate', new A.Float64(), false)),
  row_length_m: new A.Float64(),
  rows: { type: new A.Int32(), nullable: false },
}));

export type ArcDayTable = ReturnType<typeof ArcDayTableSchema.parse>;
