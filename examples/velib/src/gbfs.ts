/**
 * The two GBFS feeds of Vélib' Métropole this example reads (https://gbfs.org): `station_status.json`
 * (bikes and docks available at each station, per snapshot) and `station_information.json` (name,
 * position and capacity of each station). Only the fields used here are checked.
 */
import { z } from 'zod';

export const feed = z.object({
  /** Unix seconds: when the feed was produced (the snapshot's time). */
  lastUpdatedOther: z.number().int().positive(),
  data: z.object({ stations: z.array(z.unknown()) }),
});

export const stationStatus = z.object({
  stationCode: z.coerce.string(),
  num_bikes_available: z.number().int().nonnegative(),
  num_docks_available: z.number().int().nonnegative(),
  /** `[{ mechanical: n }, { ebike: m }]` */
  num_bikes_available_types: z.array(z.record(z.string(), z.number().int().nonnegative())).default([]),
  is_installed: z.number().int(),
  is_renting: z.number().int(),
});

export const stationInformation = z.object({
  stationCode: z.coerce.string(),
  name: z.string(),
  capacity: z.number().int().nonnegative(),
});

/** Where each station (by `stationCode`) is in the file: 1-based line and its text, for quarantine records. */
export function stationLines(text: string): Map<string, { line: number; text: string }> {
  const lines = new Map<string, { line: number; text: string }>();
  text.split('\n').forEach((line, i) => {
    const code = /"stationCode"\s*:\s*"([^"]+)"/.exec(line)?.[1];
    if (code !== undefined && !lines.has(code)) lines.set(code, { line: i + 1, text: line.trim() });
  });
  return lines;
}
