import { maskSecrets } from '../redact.ts';

/** The message with its causes (`message: cause: cause`) on one line, whole. */
export function errorMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    const m = (e instanceof Error ? e.message || e.name : String(e)).replace(/\s*\n\s*/g, ' ').trim();
    // Wrappers often repeat their cause's message; say each part once.
    if (m && !parts.some((p) => p.includes(m))) parts.push(m);
    e = e instanceof Error ? e.cause : undefined;
  }
  return maskSecrets(parts.join(': ')) || 'unknown error';
}

/** The stack trace with those of the causes, for the run log. */
export function errorStack(err: unknown): string | undefined {
  const out: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; depth++) {
    if (e.stack) out.push(depth ? `Caused by: ${e.stack}` : e.stack);
    e = e.cause;
  }
  return out.length ? maskSecrets(out.join('\n')) : undefined;
}

export function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'CancelledError');
}

export function summarizeZod(err: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
