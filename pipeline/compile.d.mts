/** Types of compile.mjs (plain JS so that bin.mjs can run it before anything is compiled). */
export declare function compiledRoot(): Promise<string | null>;
export declare function compiledCli(): Promise<string | null>;
export declare function compileCacheDir(): string;
