/**
 * Exponential backoff with jitter: `base * 2^(attempt-1)`, capped at `max`, then scaled by a
 * random factor in [0.5, 1) so that replicas retrying the same failure do not retry in step.
 */
export function backoffMs(attempt: number, base: number, max: number, random = Math.random): number {
  const raw = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.5 + random() / 2));
}
