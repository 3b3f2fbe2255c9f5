import { WebClient } from '@slack/web-api';
import type { Config } from '../../config.ts';
import type { Reply } from '../../chat/reply.ts';
import { safeError, type PlatformPoster, type PostedMessage, type SendResult } from '../../delivery/result.ts';
import { slackApiBase } from './api-base.ts';
import { replyToMessage } from './blocks.ts';

/**
 * What deliveries (summaries, alert notices, retrain outcomes) post to Slack: through the Web
 * API with the bot token, or the body of an incoming webhook. Here, beside the app, so that a
 * fix to Slack posting is made in one place; the delivery senders (src/delivery/send.ts) call it.
 */

/** Errors that will not heal by retrying: the channel or the token is gone. */
const PERMANENT = ['channel_not_found', 'not_in_channel', 'invalid_auth', 'account_inactive', 'is_archived', 'token_revoked'];

/** A Web API client for one delivery: rate limits are the delivery queue's (its Retry-After cap and backoff), not the SDK's. */
function webClient(config: Pick<Config, 'slack'>, timeoutMs: number): WebClient | undefined {
  const token = config.slack.botToken;
  if (!token) return undefined;
  const api = slackApiBase(config.slack.apiUrl);
  return new WebClient(token, { ...(api ? { slackApiUrl: api } : {}), retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: timeoutMs });
}

const NO_TOKEN: SendResult = { ok: false, status: null, error: 'SLACK_BOT_TOKEN is not set: cannot post to a Slack channel', permanent: true };

/** A Web API failure as the queue records it: rate limits retried after Retry-After, a gone channel or token dead at once. */
function failure(err: unknown): SendResult {
  const e = err as { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number };
  if (e.code === 'slack_webapi_rate_limited_error') return { ok: false, status: 429, error: 'Slack rate limited', retryAfterMs: (e.retryAfter ?? 1) * 1000 };
  return { ok: false, status: e.statusCode ?? null, error: `Slack: ${e.data?.error ?? safeError(err)}`, permanent: PERMANENT.includes(e.data?.error ?? '') };
}

/** One message to a channel (or, to a user id, the app's DM with them): the blocks, then the chart threaded under them. */
async function postSlackReply(client: WebClient, o: { channel: string; reply: Reply; png?: Buffer; threadTs?: string }): Promise<SendResult> {
  try {
    const message = replyToMessage(o.reply);
    const posted = (await client.chat.postMessage({ channel: o.channel, ...message, unfurl_links: false, ...(o.threadTs ? { thread_ts: o.threadTs } : {}) } as never)) as { ts?: string; channel?: string };
    // A post to a user id lands in the DM, whose id Slack answers with: later edits need it.
    const at: PostedMessage | undefined = posted.ts ? { channel: posted.channel ?? o.channel, id: posted.ts } : undefined;
    if (!o.png) return { ok: true, status: 200, ...(at ? { message: at } : {}) };
    // The summary as the file's comment would lose the blocks, so post the blocks first and thread the chart under them.
    try {
      await client.files.uploadV2({ channel_id: at?.channel ?? o.channel, thread_ts: o.threadTs ?? posted.ts, file: o.png, filename: 'summary.png', alt_text: o.reply.chart?.alt } as never);
    } catch (err) {
      // The message is posted: retrying the whole delivery would post it twice. The chart is
      // best effort here; the failure is recorded with the success.
      return { ok: true, status: 200, warning: `chart upload failed: ${safeError(err)}`, ...(at ? { message: at } : {}) };
    }
    return { ok: true, status: 200, ...(at ? { message: at } : {}) };
  } catch (err) {
    return failure(err);
  }
}

/** chat.update of a posted message: the same blocks a post would have (the chart stays in its thread). */
async function updateSlackMessage(client: WebClient, at: PostedMessage, reply: Reply): Promise<SendResult> {
  try {
    await client.chat.update({ channel: at.channel, ts: at.id, ...replyToMessage(reply) } as never);
    return { ok: true, status: 200, message: at };
  } catch (err) {
    return failure(err);
  }
}

/** Deliveries' Slack: chat.postMessage to a user id posts in the app's DM with them, so no DM is opened. */
export function slackPoster(config: Pick<Config, 'slack'>, timeoutMs: number): PlatformPoster {
  const client = () => webClient(config, timeoutMs);
  return {
    post: async (channel, reply, png) => {
      const c = client();
      return c ? postSlackReply(c, { channel, reply, png }) : NO_TOKEN;
    },
    update: async (at, reply) => {
      const c = client();
      return c ? updateSlackMessage(c, at, reply) : NO_TOKEN;
    },
    threadReply: async (at, reply) => {
      const c = client();
      return c ? postSlackReply(c, { channel: at.channel, reply, threadTs: at.id }) : NO_TOKEN;
    },
    openDm: async (user) => ({ channel: user }),
    // The chart as a link: an incoming webhook takes no file.
    webhookBody: (reply, _png, chartUrl) => JSON.stringify(replyToMessage(reply, { imageUrl: chartUrl, interactive: false })),
  };
}
