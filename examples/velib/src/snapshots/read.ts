/** Reading the raw GBFS files: bad files and bad stations are quarantined (file and line), never dropped silently. */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import type { FileSet, Reject } from 'cityflow';
import { feed, stationInformation, stationLines, stationStatus } from '../gbfs.ts';

export interface ReadFeed<T> {
  file: string;
  at: Date;
  /** Each valid station with where it is (`line` 0 when it cannot be found, e.g. on one long line). */
  stations: { line: number; raw: string; station: T }[];
}

async function readFeed<T>(
  file: { path: string; key: string },
  schema: z.ZodType<T>,
  reject: Reject,
): Promise<ReadFeed<T> | undefined> {
  const text = await readFile(file.path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    reject({ reason: 'invalid_json', file: file.key, line: 0, detail: (err as Error).message });
    return undefined;
  }
  const parsed = feed.safeParse(json);
  if (!parsed.success) {
    reject({ reason: 'not_a_gbfs_feed', file: file.key, line: 0, detail: parsed.error.message });
    return undefined;
  }
  const lines = stationLines(text);
  const stations: ReadFeed<T>['stations'] = [];
  for (const raw of parsed.data.data.stations) {
    const code = String((raw as { stationCode?: unknown } | null)?.stationCode ?? '');
    const { line, text: rawText } = lines.get(code) ?? { line: 0, text: JSON.stringify(raw) };
    const station = schema.safeParse(raw);
    if (station.success) stations.push({ line, raw: rawText, station: station.data });
    else
      reject({
        reason: 'invalid_station',
        file: file.key,
        line,
        detail: station.error.message,
        raw: rawText,
      });
  }
  return { file: file.key, at: new Date(parsed.data.lastUpdatedOther * 1000), stations };
}

export const readStatus = (files: FileSet, reject: Reject) =>
  Promise.all(files.files.map((f) => readFeed(f, stationStatus, reject)));

export async function readInformation(files: FileSet, reject: Reject) {
  const feeds = await Promise.all(files.files.map((f) => readFeed(f, stationInformation, reject)));
  return new Map(
    feeds.flatMap((f) => f?.stations ?? []).map(({ station }) => [station.stationCode, station]),
  );
}
