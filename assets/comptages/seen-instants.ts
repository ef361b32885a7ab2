/**
 * Which (arc, instant) pairs a file has already produced, to reject duplicate rows. Memory stays
 * proportional to arcs × days, not rows: an instant is identified by its Paris (day, local hour,
 * UTC offset), and the 24 hours × 2 possible offsets of one arc-day fit in a 48-bit integer mask.
 */
import { dayNumber } from './paris-clock.ts';

const bitValue = (hour: number, offsetMinutes: number): number =>
  2 ** (hour * 2 + (offsetMinutes === 120 ? 0 : 1));

export class SeenInstants {
  private readonly masks = new Map<string, Map<number, number>>();

  /** True if the arc already has a row at that local (day, hour) with that Paris offset. */
  has(arcId: string, day: string, hour: number, offsetMinutes: number): boolean {
    const mask = this.masks.get(arcId)?.get(dayNumber(day)) ?? 0;
    const bit = bitValue(hour, offsetMinutes);
    return Math.floor(mask / bit) % 2 === 1;
  }

  /** Records the instant; returns false (and records nothing) if it was already there. */
  add(arcId: string, day: string, hour: number, offsetMinutes: number): boolean {
    let byDay = this.masks.get(arcId);
    if (!byDay) {
      byDay = new Map();
      this.masks.set(arcId, byDay);
    }
    const dn = dayNumber(day);
    const mask = byDay.get(dn) ?? 0;
    const bit = bitValue(hour, offsetMinutes);
    if (Math.floor(mask / bit) % 2 === 1) return false;
    byDay.set(dn, mask + bit);
    return true;
  }
}
