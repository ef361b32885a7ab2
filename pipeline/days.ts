import { dayInZone, isDayKey, isHourKey, type SourceIO } from '../engine/index.ts';

/**
 * The day range a command works on: `--partition` (a day, or an hour whose day is taken), `--from/--to`,
 * or by default every day present in the raw API folders (`api/<source>/dt=YYYY-MM-DD`), else today in Paris.
 */
export async function resolveDays(
  opts: { partition?: string; from?: string; to?: string },
  sources: SourceIO,
): Promise<{ from: string; to: string; origin: string }> {
  if (opts.partition) {
    const day = opts.partition.slice(0, 10);
    if (opts.partition !== 'all' && !isDayKey(opts.partition) && !isHourKey(opts.partition)) {
      throw new UsageError(
        `--partition ${opts.partition}: use a day (YYYY-MM-DD), an hour (YYYY-MM-DDTHH) or "all"`,
      );
    }
    if (opts.partition === 'all') return await resolveDays({}, sources);
    return { from: day, to: day, origin: '--partition' };
  }
  if (opts.from || opts.to) {
    const from = opts.from ?? opts.to!;
    const to = opts.to ?? opts.from!;
    for (const [flag, v] of [
      ['--from', from],
      ['--to', to],
    ] as const) {
      if (!isDayKey(v)) throw new UsageError(`${flag} ${v}: use a day YYYY-MM-DD`);
    }
    if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
    return { from, to, origin: '--from/--to' };
  }
  const days = new Set<string>();
  for (const src of await sources.listFolders('api')) {
    for (const folder of await sources.listFolders(`api/${src}`)) {
      const m = /^dt=(\d{4}-\d{2}-\d{2})$/.exec(folder);
      if (m && isDayKey(m[1]!)) days.add(m[1]!);
    }
  }
  const sorted = [...days].sort();
  if (!sorted.length) {
    const today = dayInZone(new Date());
    return { from: today, to: today, origin: 'today (no dt= folders found in the raw data)' };
  }
  return { from: sorted[0]!, to: sorted.at(-1)!, origin: 'days present in the raw data' };
}

/** A mistake in how the command was called: exit code 2, message only. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
