import { WebClient } from '@slack/web-api';
import type { Config } from '../config.ts';
import type { Reply } from '../chat/reply.ts';
// The renderers of the chat answers: a weekly summary looks the same as an answer in chat.
import { replyToDiscord } from '../adapters/discord/render.ts';
import { replyToMessage } from '../adapters/slack/blocks.ts';
import { describeOutboundError, type Outbound } from '../net/outbound.ts';
import { signPayload } from './crypto.ts';
import { isPermanentHttpFailure, parseRetryAfter } from '../util/retry.ts';
import { replyToEmail } from '../email/render.ts';
import { NO_TRANSPORT_MESSAGE, type Mailer } from '../email/transport.ts';
import type { TargetKind } from './summaries/subscriptions.ts';

/** The result of one attempt, as the scheduler needs it. */
export type SendResult =
  | { ok: true; status: number; warning?: string }
  | { ok: false; status: number | null; error: string; retryAfterMs?: number; permanent?: boolean };

export interface Outgoing {
  deliveryId: string;
  subscriptionId: string;
  /** The scheduled week (local date of the run). */
  period: string;
  targetKind: TargetKind;
  url?: string;
  signingSecret?: string;
  workspace?: string;
  channel?: string;
  reply: Reply;
  png?: Buffer;
  /** Where Slack incoming webhooks can fetch the chart (PUBLIC_URL + chart route). */
  chartUrl?: string;
  /** What is delivered (the generic JSON `type` and X-Storecast-Event); default weekly-summary. */
  event?: 'weekly-summary' | 'alert';
  /** Email targets: the recipient, and the footer's why and how to stop. */
  email?: { to: string; why: string; stop: string };
}

export interface SendOptions {
  config: Pick<Config, 'slack' | 'discord'>;
  /** Every request to a subscription's URL goes through it. */
  outbound: Pick<Outbound, 'request'>;
  timeoutMs: number;
  now?: () => Date;
  /** The mail transport (SMTP or SendGrid); none configured: email deliveries fail saying so. */
  mailer?: Mailer;
}

const USER_AGENT = 'storecast-webhooks/1';
/** Discord's API wants bots to say so in this form (`DiscordBot ($url, $version)`), as its SDK does. */
const DISCORD_USER_AGENT = 'DiscordBot (https://github.com/storecast/storecast, 1) storecast-webhooks/1';

/** Error text that is safe to store and log: never the URL (a secret), short. */
function describeError(err: unknown, url?: string): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  let text = e?.name === 'TimeoutError' || e?.name === 'AbortError' ? 'timed out' : e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  if (url) text = text.split(url).join('[target]');
  return text.replace(/https?:\/\/\S+/g, '[url]').slice(0, 300);
}

/**
 * Status, and "HTTP <status>" as the reason. The response body is never read: a target's
 * answer may be an internal page or carry secrets, and it would end up in /deliveries.
 */
function httpResult(res: { ok: boolean; status: number; headers: { get(name: string): string | null } }): SendResult {
  if (res.ok) return { ok: true, status: res.status };
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  const permanent = isPermanentHttpFailure(res.status);
  return { ok: false, status: res.status, error: `HTTP ${res.status}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), permanent };
}

/** A POST to a user-given URL: through the outbound guard (no internal addresses, no redirects, no body kept). */
async function postTarget(url: string, init: { headers: Record<string, string>; body: string | FormData }, options: SendOptions): Promise<SendResult> {
  try {
    return httpResult(await options.outbound.request(url, { ...init, method: 'POST', timeoutMs: options.timeoutMs }));
  } catch (err) {
    // Not permanent, refusals included: DNS or STORECAST_OUTBOUND_ALLOW may change, and each retry is checked again.
    return { ok: false, status: null, error: describeOutboundError(err) };
  }
}

/** A POST to an operator-configured API (DISCORD_API_URL): not user-given, so not guarded. */
async function postApi(url: string, init: RequestInit, timeoutMs: number): Promise<SendResult> {
  try {
    const res = await fetch(url, { ...init, method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => {});
    return httpResult(res);
  } catch (err) {
    return { ok: false, status: null, error: describeError(err, url) };
  }
}

/** A Discord message as multipart form data: payload_json plus the files it names. */
function discordForm(reply: Reply, png: Buffer | undefined, interactive: boolean): FormData {
  const message = replyToDiscord(reply, { png, pngName: 'summary.png', interactive });
  const form = new FormData();
  form.append('payload_json', JSON.stringify(message.body));
  message.files.forEach((f, i) => form.append(`files[${i}]`, new Blob([new Uint8Array(f.data as Buffer)], { type: f.contentType ?? 'application/octet-stream' }), f.name));
  return form;
}

/** The generic JSON body: the numbers, for machines. */
export function genericPayload(o: Outgoing): Record<string, unknown> {
  return {
    type: o.event ?? 'weekly-summary',
    deliveryId: o.deliveryId,
    subscriptionId: o.subscriptionId,
    period: o.period,
    title: o.reply.title,
    summary: o.reply.summary,
    facts: o.reply.facts,
    data: o.reply.data,
    context: o.reply.context,
    ...(o.chartUrl ? { chartUrl: o.chartUrl } : {}),
  };
}

function commonHeaders(o: Outgoing): Record<string, string> {
  return { 'user-agent': USER_AGENT, 'idempotency-key': o.deliveryId, 'x-storecast-delivery': o.deliveryId };
}

async function sendSlackChannel(o: Outgoing, options: SendOptions): Promise<SendResult> {
  const token = options.config.slack.botToken;
  if (!token) return { ok: false, status: null, error: 'SLACK_BOT_TOKEN is not set: cannot post to a Slack channel', permanent: true };
  const api = options.config.slack.apiUrl;
  const client = new WebClient(token, {
    ...(api ? { slackApiUrl: api.endsWith('/') ? api : `${api}/` } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs,
  });
  try {
    const message = replyToMessage(o.reply);
    if (o.png) {
      // One message: the summary as the file's comment would lose the blocks, so post the
      // blocks first and thread the chart under them.
      const posted = await client.chat.postMessage({ channel: o.channel!, ...message, unfurl_links: false } as never);
      try {
        await client.files.uploadV2({
          channel_id: o.channel!,
          thread_ts: (posted as { ts?: string }).ts,
          file: o.png,
          filename: 'summary.png',
          alt_text: o.reply.chart?.alt,
        } as never);
      } catch (err) {
        // The summary is posted: retrying the whole delivery would post it twice. The chart is
        // best effort here; the failure is recorded with the success.
        return { ok: true, status: 200, warning: `chart upload failed: ${describeError(err)}` };
      }
    } else {
      await client.chat.postMessage({ channel: o.channel!, ...message } as never);
    }
    return { ok: true, status: 200 };
  } catch (err) {
    const e = err as { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number };
    if (e.code === 'slack_webapi_rate_limited_error') return { ok: false, status: 429, error: 'Slack rate limited', retryAfterMs: (e.retryAfter ?? 1) * 1000 };
    const permanent = ['channel_not_found', 'not_in_channel', 'invalid_auth', 'account_inactive', 'is_archived', 'token_revoked'].includes(e.data?.error ?? '');
    return { ok: false, status: e.statusCode ?? null, error: `Slack: ${e.data?.error ?? describeError(err)}`, permanent };
  }
}

/** DISCORD_API_URL with or without its version (as the adapter's REST client takes it), as the v10 base. */
export function discordApiBase(apiUrl: string | undefined): string {
  return `${(apiUrl ?? 'https://discord.com/api').replace(/\/+$/, '').replace(/\/v\d+$/, '')}/v10`;
}

/** Delivers one summary to its target; never throws. */
export async function send(o: Outgoing, options: SendOptions): Promise<SendResult> {
  switch (o.targetKind) {
    case 'generic': {
      const body = JSON.stringify(genericPayload(o));
      const now = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
      return postTarget(
        o.url!,
        {
          headers: {
            ...commonHeaders(o),
            'content-type': 'application/json',
            'x-storecast-event': o.event ?? 'weekly-summary',
            ...(o.signingSecret ? { 'x-storecast-signature': signPayload(o.signingSecret, body, now) } : {}),
          },
          body,
        },
        options,
      );
    }
    case 'slack-webhook':
      return postTarget(o.url!, { headers: { ...commonHeaders(o), 'content-type': 'application/json' }, body: JSON.stringify(replyToMessage(o.reply, { imageUrl: o.chartUrl, interactive: false })) }, options);
    case 'discord-webhook': {
      const url = new URL(o.url!);
      url.searchParams.set('wait', 'true');
      return postTarget(url.toString(), { headers: commonHeaders(o), body: discordForm(o.reply, o.png, false) }, options);
    }
    case 'discord-channel': {
      const token = options.config.discord.botToken;
      if (!token) return { ok: false, status: null, error: 'DISCORD_BOT_TOKEN is not set: cannot post to a Discord channel', permanent: true };
      const base = discordApiBase(options.config.discord.apiUrl);
      return postApi(`${base}/channels/${encodeURIComponent(o.channel!)}/messages`, { headers: { ...commonHeaders(o), 'user-agent': DISCORD_USER_AGENT, authorization: `Bot ${token}` }, body: discordForm(o.reply, o.png, true) }, options.timeoutMs);
    }
    case 'slack-channel':
      return sendSlackChannel(o, options);
    case 'email': {
      if (!options.mailer) return { ok: false, status: null, error: NO_TRANSPORT_MESSAGE, permanent: true };
      if (!o.email) return { ok: false, status: null, error: 'no recipient', permanent: true };
      const message = replyToEmail(o.reply, { png: o.png, why: o.email.why, stop: o.email.stop });
      return options.mailer.send(o.email.to, message, { id: o.deliveryId, timeoutMs: options.timeoutMs });
    }
  }
}
