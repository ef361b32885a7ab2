/** Types of warm.mjs (plain JS so that bin.mjs can run it before anything is compiled). */
import type { Server, Socket } from 'node:net';

export interface WarmIdentity {
  bin: string;
  cwd: string;
  execPath: string;
  execArgv: string[];
  version: string;
  env: Record<string, string | undefined>;
}
export declare const WARM_ON: RegExp;
export declare const SHELL_VARIABLES: readonly string[];
export declare const SIGNALS: readonly NodeJS.Signals[];
export declare function commandOf(args: string[]): string | undefined;
export declare function warmIdentity(
  bin: string,
  env: Record<string, string | undefined>,
): WarmIdentity | undefined;
export declare function warmSocket(identity: WarmIdentity, opts?: { create?: boolean }): string | undefined;
export declare function warmDir(
  env: Record<string, string | undefined>,
  opts?: { create?: boolean },
): string | undefined;
export declare function warmProcesses(dir: string): { pid: number; socket: string }[];
export declare function exitFile(socket: string, pid: number): string;
export declare function pidFile(socket: string): string;
export declare function runWarm(
  identity: WarmIdentity,
  args: string[],
): Promise<{ code: number } | { code?: undefined; spawn: boolean }>;
export declare function spawnWarm(identity: WarmIdentity, binFile: string): void;
export declare function listenWarm(
  socket: string,
): Promise<{ server: Server; serveWith(serve: (conn: Socket) => void): void } | undefined>;
export declare function writePidFile(socket: string): () => void;
