// Bounded retries with exponential backoff (and Retry-After) for transient network failures:
// 5xx, 429, dropped connections, timeouts. Everything else fails at once.
import { StudioError } from '../../../src-shared/errors';

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server's Retry-After is honoured up to this long. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 6, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

/** A failure worth another try (5xx, 429, a dropped or stalled connection). */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** True for failures another attempt may cure. Aborts by our own signal are never transient. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (err instanceof StudioError) return false;
  if (err instanceof Error && err.name === 'TimeoutError') return true;
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = errorCode(e);
    if (code && TRANSIENT_CODES.has(code)) return true;
    e = e instanceof Error ? e.cause : undefined;
  }
  // undici: `fetch failed` (connect) and `terminated` (body cut) are TypeErrors.
  return err instanceof TypeError && /fetch failed|terminated|other side closed/i.test(err.message);
}

/** A short human reason for a transient failure (no URLs: signed URLs are not for logs). */
export function describeFailure(err: unknown): string {
  if (err instanceof TransientError) return err.message;
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = errorCode(e);
    if (code) return code === 'UND_ERR_SOCKET' ? 'the connection was closed' : code;
    e = e instanceof Error ? e.cause : undefined;
  }
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  return err instanceof Error ? err.message : String(err);
}

/** Retry-After as delta-seconds or an HTTP date, in ms. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Delay before retry number `attempt` (1-based): Retry-After if given, else exponential with jitter. */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exp * (0.75 + 0.5 * random()));
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new StudioError('cancelled', 'Cancelled');
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryNotice {
  attempt: number;
  delayMs: number;
  reason: string;
}

/**
 * Runs `fn` until it succeeds, fails with a non-transient error, or `policy.retries` retries are
 * spent (then a `network` StudioError naming `what`).
 */
export async function withRetries<T>(
  what: string,
  fn: (attempt: number) => Promise<T>,
  opts: { policy: RetryPolicy; signal?: AbortSignal; onRetry?: (notice: RetryNotice) => void },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      if (!isTransient(err)) throw err;
      if (attempt >= opts.policy.retries) throw networkError(what, attempt + 1, err);
      const delayMs = backoffDelay(attempt + 1, opts.policy, err instanceof TransientError ? err.retryAfterMs : undefined);
      opts.onRetry?.({ attempt: attempt + 1, delayMs, reason: describeFailure(err) });
      await sleep(delayMs, opts.signal);
    }
  }
}

export function networkError(what: string, attempts: number, err: unknown): StudioError {
  return new StudioError(
    'network',
    `Could not ${what} after ${attempts} attempt${attempts === 1 ? '' : 's'} (${describeFailure(err)}). ` +
      'Check the internet connection and try again; a download resumes where it stopped.',
    { attempts },
  );
}
