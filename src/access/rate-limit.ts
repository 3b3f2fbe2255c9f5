import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export type RateVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface CommandRateLimit {
  /** Counts one command for `key` (a principal); refuses past the limit with the wait. */
  take(key: string): Promise<RateVerdict>;
  /** Whether `key` is past the limit now, counting nothing. */
  check(key: string): Promise<RateVerdict>;
}

/**
 * Commands per minute per principal, so one person (or one leaked token) cannot keep the
 * answer lanes to themselves. Counted per replica: N replicas allow up to N times the limit,
 * which still bounds each one's queue. `perMinute` 0 turns it off.
 */
export function createRateLimit(perMinute: number): CommandRateLimit {
  if (perMinute <= 0) return { take: async () => ({ ok: true }), check: async () => ({ ok: true }) };
  const limiter = new RateLimiterMemory({ points: perMinute, duration: 60 });
  return {
    async check(key) {
      const res = await limiter.get(key);
      return res && res.consumedPoints >= perMinute ? { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) } : { ok: true };
    },
    async take(key) {
      try {
        await limiter.consume(key);
        return { ok: true };
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
      }
    },
  };
}
