/**
 * Recorded code manifests: what each automatic code version was computed from, kept in the state dir
 * (`<stateDir>/code/<version>.json`, `:` written as `-`), so that when an asset's version changes
 * `pipeline why` can say which project files and packages differ from the last materialization.
 *
 * The executor saves the manifest of each version it materializes (`recordCodeManifest`); the planner
 * explains a `code_changed` reason with `codeChanges`. A manifest is written once per version (content
 * never changes for a version) and read at most once per process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyAsset } from './asset.ts';
import { writeFileAtomic } from './atomic.ts';
import { MISSING_FILE, manifestVersion, type CodeManifest } from './code-version.ts';

/** Where the manifest of `version` is kept (the version's `:` and other unsafe characters as `-`). */
export const codeManifestPath = (stateDir: string, version: string): string =>
  join(stateDir, 'code', `${version.replace(/[^A-Za-z0-9_.-]/g, '-')}.json`);

/** Manifests read (or written) in this process, by path; null: no valid manifest there. */
const loaded = new Map<string, CodeManifest | null>();
/** Diffs already made in this process (the planner asks once per unit: many partitions, same versions). */
const diffs = new Map<string, string[]>();
/** Writes started in this process, by path (a version's manifest is written once). */
const saving = new Map<string, Promise<void>>();

/**
 * Saves the manifest of a code version under `<stateDir>/code/`, atomically, unless it is already there.
 * Cheap to call on every success (once per version per process). Never rejects: a manifest that cannot
 * be written only means `codeChanges` cannot explain that version later.
 */
export function saveCodeManifest(stateDir: string, version: string, manifest: CodeManifest): Promise<void> {
  const path = codeManifestPath(stateDir, version);
  let p = saving.get(path);
  if (!p) {
    p = (async () => {
      if (!existsSync(path))
        await writeFileAtomic(path, `${JSON.stringify(manifest, null, 1)}\n`, { fsync: false });
      loaded.set(path, manifest);
    })().catch(() => {
      saving.delete(path); // try again on the next success
    });
    saving.set(path, p);
  }
  return p;
}

/** saveCodeManifest for an asset's current version; nothing for explicit versions and sources. */
export function recordCodeManifest(
  stateDir: string,
  asset: Pick<AnyAsset, 'codeVersion' | 'codeManifest'>,
): Promise<void> {
  const manifest = asset.codeManifest;
  return manifest ? saveCodeManifest(stateDir, asset.codeVersion, manifest) : Promise.resolve();
}

/** The manifest recorded for `version`, if any (checked against the version: a damaged file is ignored). */
export function loadCodeManifest(stateDir: string, version: string): CodeManifest | undefined {
  const path = codeManifestPath(stateDir, version);
  let m = loaded.get(path);
  if (m === undefined) {
    try {
      const data = JSON.parse(readFileSync(path, 'utf8')) as CodeManifest;
      m = data && manifestVersion({ files: data.files, packages: data.packages }) === version ? data : null;
    } catch {
      m = null;
    }
    // Only found manifests are remembered: one written later by another process is still seen.
    if (m) loaded.set(path, m);
  }
  return m ?? undefined;
}

/**
 * What differs from `from` to `to`, as short strings: a changed file's path, `+path` (added), `-path`
 * (removed, or no longer found), `name 1.0.0 → 1.1.0`, `+name 1.0.0`, `-name 1.0.0`; files first, each
 * group sorted.
 */
export function diffCodeManifests(from: CodeManifest, to: CodeManifest): string[] {
  const out: string[] = [];
  const present = (h: string | undefined): h is string => h !== undefined && h !== MISSING_FILE;
  for (const path of [...new Set([...Object.keys(from.files), ...Object.keys(to.files)])].sort()) {
    const a = from.files[path];
    const b = to.files[path];
    if (a === b) continue;
    if (!present(a)) out.push(`+${path}`);
    else if (!present(b)) out.push(`-${path}`);
    else out.push(path);
  }
  for (const name of [...new Set([...Object.keys(from.packages), ...Object.keys(to.packages)])].sort()) {
    const a = from.packages[name];
    const b = to.packages[name];
    if (a === b) continue;
    if (a === undefined) out.push(`+${name} ${b}`);
    else if (b === undefined) out.push(`-${name} ${a}`);
    else out.push(`${name} ${a} → ${b}`);
  }
  return out;
}

/**
 * Why an asset's code version is no longer `fromVersion`: the files and packages that differ between the
 * manifest recorded for `fromVersion` and the asset's current one (see diffCodeManifests); [] when the
 * version is the same. Undefined when unknown: explicit versions, sources, or no manifest recorded for
 * `fromVersion` (e.g. materialized before manifests were kept, or with an explicit version).
 */
export function codeChanges(
  stateDir: string,
  asset: Pick<AnyAsset, 'codeVersion' | 'codeManifest'>,
  fromVersion: string | undefined,
): string[] | undefined {
  const current = asset.codeManifest;
  if (!current || !fromVersion) return undefined;
  if (fromVersion === asset.codeVersion) return [];
  const key = `${codeManifestPath(stateDir, fromVersion)}\0${asset.codeVersion}`;
  let changes = diffs.get(key);
  if (!changes) {
    const previous = loadCodeManifest(stateDir, fromVersion);
    if (!previous) return undefined;
    diffs.set(key, (changes = diffCodeManifests(previous, current)));
  }
  return [...changes];
}
