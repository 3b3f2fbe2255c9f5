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
export async function withRetry<T>(what: string, fn: () => Promise<T>, policy: RetryPolicy, logger: Pick<Logger, 'warn'>, opts: { unknownWebhookIsEarly?: boolean } = {}): Promise<T> {
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

/** A message whose thread a later message goes in (a follow-up clicked on it, an alert's change). */
export interface ThreadOn {
  /** The message's channel (a thread already, when `inThread`). */
  channel: string;
  message: string;
  inThread: boolean;
  /** The thread's name, when one is started. */
  name: string;
  /** A direct message has no threads: the message is answered with a reply to it. */
  direct?: boolean;
}

/** Discord's "A thread has already been created for this message". */
const THREAD_EXISTS = 160004;

/**
 * The thread of a message: started on it through the REST API as the bot, or the one started
 * earlier (a message's thread has the message's id). Undefined when threads are not available
 * (a DM, no permission to create threads, an announcement channel, a forum post): the caller
 * then replies to the message in its channel.
 */
export async function openThread(rest: REST, t: ThreadOn, policy: RetryPolicy, log: Pick<Logger, 'warn'>): Promise<string | undefined> {
  if (t.inThread) return t.channel;
  if (t.direct) return undefined;
  try {
    const thread = (await withRetry('start thread', () => rest.post(Routes.threads(t.channel, t.message), { body: { name: t.name, auto_archive_duration: 1440 } }), policy, log)) as { id: string };
    return thread.id;
  } catch (err) {
    if (err instanceof DiscordAPIError && err.code === THREAD_EXISTS) return t.message;
    log.warn({ err: String(err), channel: t.channel }, 'discord: no thread on the message; answering with a reply to it');
    return undefined;
  }
}

/** Posts `m` in the message's thread, or as a reply to the message where no thread can be had. */
export async function postInThread(rest: REST, t: ThreadOn, m: DiscordMessage, policy: RetryPolicy, log: Pick<Logger, 'warn'>): Promise<unknown> {
  const where = await openThread(rest, t, policy, log);
  const body = where ? m.body : { ...(m.body as object), message_reference: { message_id: t.message, fail_if_not_exists: false } };
  return withRetry('thread message', () => rest.post(Routes.channelMessages(where ?? t.channel), { body, files: m.files }), policy, log);
}
