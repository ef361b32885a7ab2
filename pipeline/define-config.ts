/**
 * The typed API of a project's `cityflow.config.ts`: what it exports (`export default defineConfig(…)`)
 * and what it is given. A config is either the definitions themselves or a function of the environment's
 * bindings, for projects whose storage depends on the environment:
 *
 *   export default defineConfig({ assets: [stations, occupancy] });
 *   export default defineConfig((ctx) => ({ assets, io: { default: ctx.store, scratch: ctx.local } }));
 *
 * Generic settings (DATA_DIR, OUTPUT_DIR, STATE_DIR, the database and S3 modes, locks, preflight checks)
 * stay with the `pipeline` command and its environment variables; the config only says what the assets
 * are and, when it wants to, which IO manager stands behind each binding name.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { AnyAsset, IOManager, SourceIO } from '../engine/index.ts';
import type { Config } from './config.ts';

/** What a config function is given: the settings and the IO managers the environment chose. */
export interface ConfigContext {
  /** The validated environment settings (DATA_DIR, OUTPUT_DIR, STATE_DIR, database, S3, …). */
  settings: Config;
  /** The process environment (with `.env` applied), for a project's own variables. */
  env: Record<string, string | undefined>;
  /** JSON files under OUTPUT_DIR (`<asset>/<partition>.json`, with a `.version` beside each). */
  local: IOManager;
  /** The database the environment chose (`DATABASE_TYPE`, `USE_DYNAMODB`, AWS mode), else `local`. */
  store: IOManager;
  /** Raw input: DATA_DIR, or in S3 mode the raw prefix through the local cache (falling back to DATA_DIR). */
  sources: SourceIO;
  /** S3 mode only (`USE_S3=true` or AWS): the client, e.g. to publish copies with a MirrorIOManager. */
  s3?: { client: S3Client };
  /**
   * With SHARED_STATE=dynamodb only (coordinators and workers on several machines): objects under
   * s3://S3_INTERMEDIATES_BUCKET/S3_INTERMEDIATES_PREFIX/ (Arrow tables as `.arrows`), which every
   * machine reads. Bind to it what `local` would keep on one machine's disk, e.g. intermediates.
   */
  shared?: IOManager;
  /** A line on stderr (`warn` shows at LOG_LEVEL=warn, `info` at info). */
  log(message: string, level?: 'info' | 'warn'): void;
  /** Runs when the command ends (close clients the config opened). */
  onClose(fn: () => Promise<void> | void): void;
}

/** A project's definitions. */
export interface ProjectDefinitions {
  /** Every asset and source of the project (`defineAsset`, `defineBatchAsset`, `defineSource`). */
  assets: readonly AnyAsset[];
  /**
   * IO managers by binding name (an asset picks one with `io: 'name'`). Merged over
   * `{ default: ctx.store }`: without it every asset is stored where the environment says.
   */
  io?: Record<string, IOManager>;
  /** Where sources read their files. Default: `ctx.sources` (DATA_DIR, or S3 in S3 mode). */
  sources?: SourceIO;
  /** Added to the mode line a run starts with, e.g. where the project publishes copies of its outputs. */
  describe?: string;
  /**
   * Pages of the project shown by `pipeline ui` and written by `pipeline report --html` (e.g. the Paris
   * daily report): each renders one stored partition of an asset as a self-contained HTML document.
   */
  pages?: readonly ProjectPage[];
}

/** Reads other stored values while a page renders (undefined when nothing is stored). */
export interface PageReader {
  load(asset: string, partition: string): Promise<unknown>;
}

/** One page of a project: the partitions of `asset` that have a stored value, rendered to HTML. */
export interface ProjectPage {
  /** URL name, e.g. `report` (lower case, digits, dashes). */
  id: string;
  title: string;
  /** The asset whose stored partitions the page shows. */
  asset: string;
  /**
   * One self-contained HTML document (no script, style, image or font fetched from the network; it is
   * shown in a sandboxed frame without scripts and written as one file by `pipeline report --html`).
   */
  render(value: unknown, partition: string, read: PageReader): string | Promise<string>;
}

export type CityflowConfig =
  ProjectDefinitions | ((ctx: ConfigContext) => ProjectDefinitions | Promise<ProjectDefinitions>);

/** Types a configuration (returns it unchanged): `export default defineConfig({ assets: [...] })`. */
export function defineConfig<C extends CityflowConfig>(config: C): C {
  return config;
}
