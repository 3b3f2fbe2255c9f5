/** How an outbound call is retried: the one policy shape of the Slack, Discord and webhook senders. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** First backoff after a 5xx or network error; doubles each time (with jitter). */
  baseDelayMs: number;
  /** Longest wait, also the cap on a Retry-After header we are willing to honour. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * Exponential backoff with jitter: `base * 2^(attempt-1)`, capped at `max`, then scaled by a
 * random factor in [0.5, 1) so that replicas retrying the same failure do not retry in step.
 */
export function backoffMs(attempt: number, base: number, max: number, random = Math.random): number {
  const raw = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.5 + random() / 2));
}

/** The wait before attempt `attempt + 1` under `policy`. */
export const policyBackoff = (policy: RetryPolicy, attempt: number) => backoffMs(attempt, policy.baseDelayMs, policy.maxDelayMs);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A Retry-After header as milliseconds to wait: delta-seconds or an HTTP date (RFC 9110 10.2.3),
 * at most `maxMs` (a server asking for an hour must not stall a delivery for an hour; the
 * delivery is rescheduled instead). Undefined when absent or unreadable, so the caller backs off.
 */
export function parseRetryAfter(value: string | null | undefined, options: { maxMs?: number; now?: number } = {}): number | undefined {
  if (!value) return undefined;
  let ms: number;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) ms = Math.round(Number(value) * 1000);
  else {
    // Every HTTP date form names the day or month; without a letter Date.parse would read '-5' as a year.
    const t = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(t)) return undefined;
    ms = Math.max(0, t - (options.now ?? Date.now()));
  }
  return options.maxMs === undefined ? ms : Math.min(ms, options.maxMs);
}

/**
 * HTTP client errors that may heal by waiting, so every outbound sender (webhook, Slack, Discord,
 * email API) retries them: 408 (the target timed out reading us), 425 (too early), 429 (rate
 * limited), and 409: our requests carry an Idempotency-Key, and the IETF idempotency-key draft
 * (as Stripe does) answers 409 while another request with the same key is still being processed
 * (a replica whose lease expired retried while the first attempt was in flight), which resolves
 * once that one finishes. Every other 4xx is final (a deleted webhook answers 404, a revoked key
 * 401/403, a bad body 400/422). Every 5xx and network error is retried.
 */
export const RETRYABLE_CLIENT_STATUSES: readonly number[] = [408, 409, 425, 429];

/** True when an HTTP status will not change by retrying: the delivery is buried, not rescheduled. */
export const isPermanentHttpFailure = (status: number) => status >= 400 && status < 500 && !RETRYABLE_CLIENT_STATUSES.includes(status);
