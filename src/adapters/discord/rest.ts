import { DiscordAPIError, HTTPError, REST, RateLimitError, Routes, type RESTOptions } from './djs.ts';
import type { Logger } from '../../logger.ts';
import type { DiscordMessage } from './render.ts';
import { policyBackoff, sleep, type RetryPolicy } from '../../util/retry.ts';

/** DISCORD_API_URL is the API base without the version (`https://discord.com/api`). */
export function restOptions(apiUrl: string | undefined, retry: RetryPolicy, timeoutMs = 15_000): Partial<RESTOptions> {
  return {
    ...(apiUrl ? { api: apiUrl.replace(/\/+$/, '').replace(/\/v\d+$/, '') } : {}),
    version: '10',
    // 429s are the SDK's: it waits Retry-After and tries again, unless told to wait longer
    // than we would. 5xx and network errors are ours (withRetry), with backoff.
    retries: 0,
    rejectOnRateLimit: (info) => info.retryAfter > retry.maxDelayMs,
    timeout: timeoutMs,
  };
}

export function createRest(apiUrl: string | undefined, token: string | undefined, retry: RetryPolicy, timeoutMs?: number): REST {
  const rest = new REST(restOptions(apiUrl, retry, timeoutMs));
  if (token) rest.setToken(token);
  return rest;
}

function statusOf(err: unknown): number | undefined {
  if (err instanceof DiscordAPIError || err instanceof HTTPError) return err.status;
  return undefined;
}

/**
 * Retries 5xx and network failures with exponential backoff. With `unknownWebhookIsEarly`, a
 * 404 "Unknown Webhook" is retried too: over HTTP our edit can reach Discord a moment before
 * Discord has taken in the deferred response we just returned.
 */
export async function withRetry<T>(what: string, fn: () => Promise<T>, policy: RetryPolicy, logger: Logger, opts: { unknownWebhookIsEarly?: boolean } = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const status = statusOf(err);
      const early = opts.unknownWebhookIsEarly && err instanceof DiscordAPIError && err.status === 404 && err.code === 10015 && attempt <= 2;
      const retryable = !(err instanceof RateLimitError) && (status === undefined || status >= 500 || early);
      if (!retryable || attempt >= policy.attempts) throw err;
      const wait = early ? 500 : policyBackoff(policy, attempt);
      logger.warn({ what, attempt, status, waitMs: Math.round(wait), err: String(err) }, 'discord request retry');
      await sleep(wait);
    }
  }
}

/** The interaction webhook calls, authorised by the interaction token (no bot token needed). */
export function interactionWebhook(rest: REST, applicationId: string, token: string, policy: RetryPolicy, logger: Logger) {
  return {
    editOriginal: (m: DiscordMessage) =>
      withRetry('edit original response', () => rest.patch(Routes.webhookMessage(applicationId, token, '@original'), { body: m.body, files: m.files, auth: false }), policy, logger, {
        unknownWebhookIsEarly: true,
      }),
    deleteOriginal: () =>
      withRetry('delete original response', () => rest.delete(Routes.webhookMessage(applicationId, token, '@original'), { auth: false }), policy, logger, { unknownWebhookIsEarly: true }),
    followUp: (m: DiscordMessage) => withRetry('follow-up message', () => rest.post(Routes.webhook(applicationId, token), { body: m.body, files: m.files, auth: false }), policy, logger),
  };
}
