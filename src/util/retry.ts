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
