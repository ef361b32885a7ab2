/**
 * Files under a local folder, following symbolic links (a 6 GB export is often linked into DATA_DIR,
 * not copied). Shared by the local raw source and `pipeline upload`.
 *
 * Folders are read and files stat'ed with synchronous calls, one folder at a time (the walk yields to
 * the event loop between folders). A plan observes every hourly folder of a year of raw data (26,280
 * folders of one file): through the promise API each call cost ≈ 25 µs of the main thread's CPU
 * (a thread-pool round trip, its promise and Stats objects), several times the system call itself,
 * which for one small folder blocks the event loop for microseconds.
 */
import { readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';

/** What `stat` says of a file that tells its versions apart (file-hash-cache.ts reuses digests by it). */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export interface LocalFile extends FileStamp {
  path: string;
  /** Path relative to the walked root, with forward slashes. */
  key: string;
}

const stampOf = ({ size, mtimeMs, ctimeMs, ino }: Stats): FileStamp => ({ size, mtimeMs, ctimeMs, ino });

/** What a folder entry is; `dangling`: a symbolic link to nothing (see `danglingLink`). */
function kindOf(dir: string, e: Dirent): 'file' | 'dir' | 'dangling' | null {
  if (e.isFile()) return 'file';
  if (e.isDirectory()) return 'dir';
  if (!e.isSymbolicLink()) return null;
  try {
    const st = statSync(join(dir, e.name));
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : null;
  } catch {
    return 'dangling';
  }
}

/** A link to nothing is an error naming it (its data is missing, not absent). */
async function danglingLink(path: string): Promise<Error> {
  const err = await stat(path).then(
    () => null,
    (e: NodeJS.ErrnoException) => e,
  );
  return new Error(`${path} is a symbolic link to a missing file or folder (${err?.code ?? 'ENOENT'})`, {
    cause: err,
  });
}

/**
 * What one batch of listings (a plan's observations) learnt of folders, so that in sparse data a folder
 * its parent does not hold costs no system call: a plan asks for every hourly folder of its days, and
 * in the sample 555 of 576 are absent, each an `ENOENT` error from `readdir`. Once a folder is found
 * missing (`missing`), its parent is read, once, and answers for its other sub-folders; data with every
 * folder present costs no read more. A folder is known absent only when its parent was read (or is itself
 * known absent) and has no entry of that name, compared case- and normalization-insensitively (a
 * case-insensitive file system may hold it under another spelling: it is then listed as usual, as is
 * anything under a parent that could not be read or is not a folder). Never reads above `root`. Meant for
 * one batch: a folder created after its parent was read is seen by the next batch, as if the batch had
 * looked just before.
 */
export class FolderMemo {
  /** Entry names (folded) of the folders read; null when absent, undefined when it could not be read. */
  private readonly names = new Map<string, Set<string> | null | undefined>();
  /** Folders with a sub-folder found missing: read when asked about another one. */
  private readonly sparse = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly readNames: (dir: string) => string[] = (dir) => readdirSync(dir),
  ) {}

  /** True when `dir` (an absolute path below root) is known not to exist. */
  absent(dir: string): boolean {
    const path = withoutTrailingSep(dir);
    if (!path.startsWith(this.root + sep)) return false;
    const parent = dirname(path);
    if (!this.names.has(parent) && !this.sparse.has(parent)) return false;
    const names = this.namesIn(parent);
    return names === null || (names !== undefined && !names.has(foldName(basename(path))));
  }

  /** A listing found `dir` missing: so are its sub-folders, and its siblings may be. */
  missing(dir: string): void {
    const path = withoutTrailingSep(dir);
    if (!path.startsWith(this.root + sep)) return;
    this.names.set(path, null);
    this.sparse.add(dirname(path));
  }

  private namesIn(dir: string): Set<string> | null | undefined {
    if (this.names.has(dir)) return this.names.get(dir);
    let names: Set<string> | null | undefined;
    if (this.absent(dir)) names = null;
    else
      try {
        names = new Set(this.readNames(dir).map(foldName));
      } catch (err) {
        names = (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
      }
    this.names.set(dir, names);
    return names;
  }
}

const withoutTrailingSep = (dir: string): string =>
  dir.length > 1 && dir.endsWith(sep) ? dir.slice(0, -1) : dir;
const foldName = (name: string): string => name.normalize('NFC').toLowerCase();

/** The entries of `dir`; null when it does not exist. */
function entriesOf(dir: string): Dirent[] | null {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The sub-folders of `dir` (links to folders included), sorted; none when it does not exist. */
export async function listFolders(dir: string): Promise<string[]> {
  const entries = entriesOf(dir) ?? [];
  const kinds = entries.map((e) => kindOf(dir, e));
  const dangling = entries.find((_, i) => kinds[i] === 'dangling');
  if (dangling) throw await danglingLink(join(dir, dangling.name));
  return entries
    .filter((_, i) => kinds[i] === 'dir')
    .map((e) => e.name)
    .sort();
}

/**
 * Files of `root/rel` (keys `rel/name…`), sorted by key; sub-folders too when `recursive`. A folder
 * reached twice through links (a loop) is walked once. A missing folder has no files (`folders`, when
 * given, learns it, and may know it without a system call).
 */
export async function listFiles(
  root: string,
  rel: string,
  opts: { recursive?: boolean; match?: RegExp; folders?: FolderMemo } = {},
): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const top = join(root, rel);
  if (opts.folders?.absent(top)) return out;
  // Real paths of the folders walked (a loop through links is walked once). Only the root and link
  // targets need a realpath call; a plain sub-folder's real path is its parent's plus its name.
  const seen = new Set<string>();
  const walk = async (dir: string, prefix: string, real: string): Promise<void> => {
    if (seen.has(real)) return;
    seen.add(real);
    if (seen.size > 1) await new Promise<void>((r) => setImmediate(r)); // other work between folders
    const entries = entriesOf(dir);
    if (!entries && dir === top) opts.folders?.missing(top);
    for (const e of entries ?? []) {
      const key = prefix ? `${prefix}/${e.name}` : e.name;
      const kind = kindOf(dir, e);
      const path = join(dir, e.name);
      const wanted = !opts.match || opts.match.test(e.name);
      // A link to nothing fails only the listings that would have read it: a dangling README.txt
      // beside the batch files is none of theirs.
      if (kind === 'dangling') {
        if (wanted) throw await danglingLink(path);
      } else if (kind === 'dir') {
        // A folder named like a data file (`bikes_data.json/`) is listed as one, so that reading it
        // fails naming it (EISDIR) instead of the asset silently going without that file.
        if (opts.match?.test(e.name)) out.push({ path, key, ...stampOf(statSync(path)), size: 0 });
        if (opts.recursive)
          await walk(path, key, e.isSymbolicLink() ? await realpath(path) : join(real, e.name));
      } else if (kind === 'file' && wanted) {
        out.push({ path, key, ...stampOf(statSync(path)) });
      }
    }
  };
  // The real path only matters to a recursive walk (loops); a plan observes thousands of hourly folders
  // one by one, and a realpath call each was a fifth of a no-op run's CPU.
  const topReal = opts.recursive
    ? await realpath(top).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        opts.folders?.missing(top);
        return null;
      })
    : top;
  if (topReal !== null) await walk(top, rel.replace(/\/+$/, ''), topReal);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
