import { closeSync, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';

/**
 * Parsed state index files shared by every StateStore of the process, so a re-plan parses only the
 * files that changed. An entry is served again only while the file's stamp (device, inode, size,
 * mtime, ctime) is the one it was read with: index files are replaced by a rename, so a new version is
 * a new inode, and an edit in place moves mtime and ctime. A file is read after its stamp is taken from
 * the open file, so the bytes kept are never older than their stamp. A file modified less than
 * 2 s before it was read is not kept (timestamps are coarse: another write in the same clock tick,
 * on an inode number reused since, could leave the stamp unchanged); it is parsed again until it is
 * older. The values are frozen (the index object and its records): a StateStore copies an index before
 * it records into it.
 */
export type IndexValue = Readonly<Record<string, unknown>>;

interface Entry {
  stamp: string;
  value: IndexValue;
}

let racyMs = 2_000;
const MAX_FILES = 50_000;
const entries = new Map<string, Entry>();

const stampOf = (s: Stats): string => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

/**
 * The parsed, frozen content of the JSON object file at `path`; undefined when there is no such file.
 * `parse` turns the text into the value (it throws for a corrupt file, which is not kept).
 */
export function readIndexCached(path: string, parse: (text: string) => object): IndexValue | undefined {
  // One stat for the common case, the file unchanged (the entry holds what that stamp's file held).
  const hit = entries.get(path);
  if (hit) {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && stampOf(st) === hit.stamp) return hit.value;
  }
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      entries.delete(path);
      return undefined;
    }
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const stamp = stampOf(st);
    const again = entries.get(path);
    if (again?.stamp === stamp) return again.value;
    const value = freezeIndex(parse(readFileSync(fd, 'utf8')) as Record<string, unknown>);
    entries.delete(path);
    if (Date.now() - Math.max(st.mtimeMs, st.ctimeMs) >= racyMs) {
      if (entries.size >= MAX_FILES) entries.delete(entries.keys().next().value!);
      entries.set(path, { stamp, value });
    }
    return value;
  } finally {
    closeSync(fd);
  }
}

/** Tests: forgets every entry and sets how recent a file may be and still be kept; returns the previous. */
export function resetIndexCache(recentMs = 2_000): number {
  entries.clear();
  const was = racyMs;
  racyMs = recentMs;
  return was;
}

function freezeIndex(idx: Record<string, unknown>): IndexValue {
  for (const k in idx) {
    const rec = idx[k];
    if (rec && typeof rec === 'object') Object.freeze(rec);
  }
  return Object.freeze(idx);
}
