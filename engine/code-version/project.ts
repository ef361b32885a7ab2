import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CACHE_FILE, FactsCache } from './facts-cache.ts';
import { esbuildVersion, sha } from './module-facts.ts';
import { isFile } from './source-path.ts';

const roots = new Map<string, string | undefined>();
/** Nearest directory at or above the file's holding a package.json (memoized per directory). */
export function projectRootOf(file: string): string | undefined {
  const dir = dirname(file);
  if (!roots.has(dir)) {
    const up = dirname(dir);
    roots.set(
      dir,
      isFile(join(dir, 'package.json')) ? dir : up === dir ? undefined : projectRootOf(join(up, '_')),
    );
  }
  return roots.get(dir);
}

/** A project's facts cache and installed package versions. */
export class Project {
  readonly cache: FactsCache;
  /** sha256 of package-lock.json ('' when absent), read on first use. */
  private lockHash: string | undefined;
  private lockBytes: Buffer | undefined;
  private lockVersions: Record<string, { version?: string }> | undefined;

  constructor(
    readonly root: string,
    useCache: boolean,
  ) {
    this.cache = new FactsCache(useCache ? join(root, CACHE_FILE) : undefined, esbuildVersion());
  }

  /** The installed version of a package: package-lock.json, else its own package.json, else "unknown". */
  packageVersion(name: string): string {
    if (this.lockHash === undefined) {
      try {
        this.lockBytes = readFileSync(join(this.root, 'package-lock.json'));
        this.lockHash = sha(this.lockBytes);
      } catch {
        this.lockHash = '';
      }
      if (this.cache.packages?.lock !== this.lockHash)
        this.cache.setPackages({ lock: this.lockHash, versions: {} });
    }
    const known = this.cache.packages!.versions[name];
    if (known !== undefined) return known;
    if (this.lockBytes && !this.lockVersions) {
      try {
        const lock = JSON.parse(this.lockBytes.toString('utf8')) as {
          packages?: Record<string, { version?: string }>;
        };
        this.lockVersions = lock.packages ?? {};
      } catch {
        this.lockVersions = {};
      }
    }
    const v = this.lockVersions?.[`node_modules/${name}`]?.version;
    if (v === undefined) {
      try {
        const pkg = join(this.root, 'node_modules', name, 'package.json');
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version ?? 'unknown';
      } catch {
        return 'unknown'; // not installed here (neither answer is cached with the lockfile's hash)
      }
    }
    this.cache.setPackages({
      lock: this.lockHash,
      versions: { ...this.cache.packages!.versions, [name]: v },
    });
    return v;
  }
}
