/**
 * Compact codes of one hour's flow and occupancy, shared by the row records (row-buckets.ts) and the
 * day blocks (compact-arc-days.ts). Exactness: a value is coded only if decoding gives back the very
 * same double (`q / scale === v`, and not -0); anything else (decimals beyond the scale, huge values)
 * gets the SIDE marker and travels as a plain number next to the code. So values always equal what
 * the csv-parse path gives.
 */

/** Flow (Uint16): the integer vehicles/hour, or one of two markers. */
export const FLOW_NULL = 0xffff;
export const FLOW_SIDE = 0xfffe;
const FLOW_MAX = 0xfffd;
/** Occupancy (24 bits): value × 10^5, or one of two markers. */
export const OCC_SCALE = 1e5;
export const OCC_MASK = 0xffffff;
export const OCC_NULL = 0xffffff;
export const OCC_SIDE = 0xfffffe;
const OCC_MAX = 10_000_000; // 100 %

const isNegZero = (v: number): boolean => v === 0 && 1 / v < 0;

/** Flow code of a value (NaN = null). */
export function flowCode(flow: number): number {
  if (flow !== flow) return FLOW_NULL;
  // Integers up to FLOW_MAX (not -0) are stored as is; anything else on the side.
  return flow >= 0 && flow <= FLOW_MAX && (flow | 0) === flow && !isNegZero(flow) ? flow : FLOW_SIDE;
}

/** Occupancy code of a value (NaN = null). */
export function occCode(occ: number): number {
  if (occ !== occ) return OCC_NULL;
  const q = Math.round(occ * OCC_SCALE);
  return q >= 0 && q <= OCC_MAX && q / OCC_SCALE === occ && !isNegZero(occ) ? q : OCC_SIDE;
}

/** The value of a flow code; `side` is the plain number kept when the code is FLOW_SIDE. */
export const flowValue = (code: number, side: number): number =>
  code === FLOW_NULL ? NaN : code === FLOW_SIDE ? side : code;

export const occValue = (code: number, side: number): number =>
  code === OCC_NULL ? NaN : code === OCC_SIDE ? side : code / OCC_SCALE;

/** Offset codes: 0 = no row, 1 = UTC+01:00 (60 min), 2 = UTC+02:00 (120 min). */
export const offsetCode = (offsetMinutes: number): number => (offsetMinutes === 120 ? 2 : 1);
export const offsetMinutesOf = (code: number): number => (code === 2 ? 120 : 60);
