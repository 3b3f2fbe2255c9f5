import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Logger } from '../../logger.ts';
import { isPermanentHttpFailure, parseRetryAfter, policyBackoff, sleep, type RetryPolicy } from '../../util/retry.ts';

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/**
 * POSTs a message to a Slack `response_url` (Bolt's `respond()` does not retry): on 429
 * waits Retry-After (seconds or a date, capped at the policy's maximum) and tries again, on
 * 5xx or a network error backs off exponentially; the statuses every outbound sender treats
 * as permanent (src/util/retry.ts) are final (the URL expired or was used five times).
 */
export async function postToResponseUrl(url: string, message: Record<string, unknown>, policy: RetryPolicy, logger?: Logger): Promise<void> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    let wait: number;
    try {
      const res = await postJson(url, JSON.stringify(message), 10_000);
      if (res.ok) return;
      lastError = new DeliveryError(`response_url answered ${res.status}`, res.status);
      if (isPermanentHttpFailure(res.status)) throw lastError;
      const retryAfter = parseRetryAfter(res.retryAfter, { maxMs: policy.maxDelayMs });
      wait = retryAfter ?? (res.status === 429 ? policy.baseDelayMs : policyBackoff(policy, attempt));
    } catch (err) {
      if (err instanceof DeliveryError && err.status !== undefined && isPermanentHttpFailure(err.status)) throw err;
      lastError = err;
      wait = policyBackoff(policy, attempt);
    }
    if (attempt < policy.attempts) {
      logger?.warn({ attempt, waitMs: Math.min(wait, policy.maxDelayMs), err: String(lastError) }, 'slack response_url delivery retry');
      await sleep(Math.min(wait, policy.maxDelayMs));
    }
  }
  throw lastError instanceof Error ? lastError : new DeliveryError(String(lastError));
}

// Keep-alive agents: a response_url POST per answer is the hottest outbound call, and
// node:http costs a quarter of fetch()'s CPU per request.
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

function postJson(url: string, body: string, timeoutMs: number): Promise<{ ok: boolean; status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') {
      reject(new DeliveryError(`unsupported response_url scheme ${target.protocol}`, 400));
      return;
    }
    const req = (secure ? httpsRequest : httpRequest)(
      target,
      {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const retryAfter = res.headers['retry-after'];
          resolve({ ok: status >= 200 && status < 300, status, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`response_url timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
