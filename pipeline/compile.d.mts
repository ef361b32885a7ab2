/** Types of compile.mjs (plain JS so that bin.mjs can run it before anything is compiled). */
export declare function compiledRoot(): Promise<string | null>;
export declare function compileCacheDir(build: string): string;
export declare function markBuildInUse(dir: string, refreshMs?: number): void;
export declare function pruneBuilds(
  cacheRoot: string,
  keep: string,
  configBuilds: boolean,
  now?: number,
): void;
export declare const CONFIG_BUILD_MARKER: string;
