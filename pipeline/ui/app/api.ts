/// <reference lib="dom" />
/** The server's JSON API; actions carry the session token from the page's meta tag. */
const token = (): string =>
  document.querySelector<HTMLMetaElement>('meta[name="cityflow-token"]')?.content ?? '';

export class ApiError extends Error {}

export async function get<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await r.json()) as T & { error?: string };
  if (!r.ok) throw new ApiError(body.error ?? `${r.status}`);
  return body;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-cityflow-token': token() },
    body: JSON.stringify(body),
  });
  const out = (await r.json()) as T & { error?: string };
  if (!r.ok) throw new ApiError(out.error ?? `${r.status}`);
  return out;
}

export interface AssetDef {
  key: string;
  kind: 'asset' | 'source';
  group: string;
  tags: string[];
  description: string;
  partitionsDef: string;
  deps: string[];
  codeVersion: string;
}
export interface AssetStatus {
  status: string;
  counts: Record<string, number>;
  noData: number;
  partitions: number;
}
export interface GraphData {
  days: { from: string; to: string; origin: string };
  assets: AssetDef[];
  statuses: Record<string, AssetStatus>;
}
export interface RunSummary {
  runId: string;
  startedAt: string | null;
  endedAt: string | null;
  command: string;
  /** running, success, failed, cancelled, interrupted (no end, its process gone). */
  status: string;
  materialized: number;
  skipped: number;
  noData: number;
  failed: number;
  durationMs: number | null;
  /** The run's assets (the first 20) and how many. */
  assets: string[];
  assetCount: number;
}
export interface RunEvent {
  type: string;
  runId: string;
  at: string;
  asset?: string;
  partition?: string;
  attempt?: number;
  error?: string;
  message?: string;
  reason?: string;
  status?: string;
  units?: number;
  toRun?: number;
  [k: string]: unknown;
}
