/** Errors worth retrying (network blips, throttling). Anything else fails at once. */
export class TransientError extends Error {
  readonly transient = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** Looks through `cause` chains too: storage adapters wrap driver errors with a clearer message. */
export function isTransient(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { transient?: unknown; code?: unknown; $retryable?: unknown; cause?: unknown };
  if (e.transient === true || !!e.$retryable || (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)))
    return true;
  return isTransient(e.cause, depth + 1);
}
