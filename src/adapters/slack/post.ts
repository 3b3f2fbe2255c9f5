import { WebClient } from '@slack/web-api';
import type { Config } from '../../config.ts';
import type { Reply } from '../../chat/reply.ts';
import { safeError, type PlatformPoster, type SendResult } from '../../delivery/result.ts';
import { slackApiBase } from './api-base.ts';
import { replyToMessage } from './blocks.ts';

/**
 * What deliveries (summaries, alert notices, retrain outcomes) post to Slack: through the Web
 * API with the bot token, or the body of an incoming webhook. Here, beside the app, so that a
 * fix to Slack posting is made in one place; the delivery senders (src/delivery/send.ts) call it.
 */

/** Errors that will not heal by retrying: the channel or the token is gone. */
const PERMANENT = ['channel_not_found', 'not_in_channel', 'invalid_auth', 'account_inactive', 'is_archived', 'token_revoked'];

/** One message to a channel (or, to a user id, the app's DM with them): the blocks, then the chart threaded under them. */
async function postSlackReply(config: Pick<Config, 'slack'>, o: { channel: string; reply: Reply; png?: Buffer }, timeoutMs: number): Promise<SendResult> {
  const token = config.slack.botToken;
  if (!token) return { ok: false, status: null, error: 'SLACK_BOT_TOKEN is not set: cannot post to a Slack channel', permanent: true };
  const api = slackApiBase(config.slack.apiUrl);
  // Rate limits are the delivery queue's (its Retry-After cap and backoff), not the SDK's.
  const client = new WebClient(token, { ...(api ? { slackApiUrl: api } : {}), retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: timeoutMs });
  try {
    const message = replyToMessage(o.reply);
    if (!o.png) {
      await client.chat.postMessage({ channel: o.channel, ...message } as never);
      return { ok: true, status: 200 };
    }
    // The summary as the file's comment would lose the blocks, so post the blocks first and thread the chart under them.
    const posted = await client.chat.postMessage({ channel: o.channel, ...message, unfurl_links: false } as never);
    try {
      await client.files.uploadV2({ channel_id: o.channel, thread_ts: (posted as { ts?: string }).ts, file: o.png, filename: 'summary.png', alt_text: o.reply.chart?.alt } as never);
    } catch (err) {
      // The message is posted: retrying the whole delivery would post it twice. The chart is
      // best effort here; the failure is recorded with the success.
      return { ok: true, status: 200, warning: `chart upload failed: ${safeError(err)}` };
    }
    return { ok: true, status: 200 };
  } catch (err) {
    const e = err as { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number };
    if (e.code === 'slack_webapi_rate_limited_error') return { ok: false, status: 429, error: 'Slack rate limited', retryAfterMs: (e.retryAfter ?? 1) * 1000 };
    return { ok: false, status: e.statusCode ?? null, error: `Slack: ${e.data?.error ?? safeError(err)}`, permanent: PERMANENT.includes(e.data?.error ?? '') };
  }
}

/** Deliveries' Slack: chat.postMessage to a user id posts in the app's DM with them, so no DM is opened. */
export function slackPoster(config: Pick<Config, 'slack'>, timeoutMs: number): PlatformPoster {
  return {
    post: (channel, reply, png) => postSlackReply(config, { channel, reply, png }, timeoutMs),
    openDm: async (user) => ({ channel: user }),
    // The chart as a link: an incoming webhook takes no file.
    webhookBody: (reply, _png, chartUrl) => JSON.stringify(replyToMessage(reply, { imageUrl: chartUrl, interactive: false })),
  };
}
