import type { Reply } from '../chat/reply.ts';
import { describeOutboundError, type Outbound } from '../net/outbound.ts';
import { signPayload } from './crypto.ts';
import { replyToEmail } from '../email/render.ts';
import { NO_TRANSPORT_MESSAGE, type Mailer } from '../email/transport.ts';
import { httpResult, type PlatformPoster, type SendResult } from './result.ts';
import type { TargetKind } from './targets.ts';

export type { SendResult } from './result.ts';

/**
 * The one sender per target kind, for everything the delivery queue sends (weekly summaries,
 * alert notices) and the retrain outcome: signed generic JSON and Slack/Discord incoming
 * webhooks through the outbound guard, Slack and Discord channels through the adapters, email
 * through the mail transport. Each attempt is one try; the queue owns retries and backoff.
 */

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
  /** Every request to a subscription's URL goes through it. */
  outbound: Pick<Outbound, 'request'>;
  timeoutMs: number;
  now?: () => Date;
  /** The mail transport (SMTP or SendGrid); none configured: email deliveries fail saying so. */
  mailer?: Mailer;
  /** Slack and Discord posting (the adapters', handed in by the wiring): a summary looks the same as an answer in chat. */
  platforms: { slack: PlatformPoster; discord: PlatformPoster };
}

const USER_AGENT = 'storecast-webhooks/1';

/** A POST to a user-given URL: through the outbound guard (no internal addresses, no redirects, no body kept). */
async function postTarget(url: string, init: { headers: Record<string, string>; body: string | FormData }, options: SendOptions): Promise<SendResult> {
  try {
    return httpResult(await options.outbound.request(url, { ...init, method: 'POST', timeoutMs: options.timeoutMs }));
  } catch (err) {
    // Not permanent, refusals included: DNS or STORECAST_OUTBOUND_ALLOW may change, and each retry is checked again.
    return { ok: false, status: null, error: describeOutboundError(err) };
  }
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

/** Delivers one reply to its target; never throws. */
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
      return postTarget(o.url!, { headers: { ...commonHeaders(o), 'content-type': 'application/json' }, body: options.platforms.slack.webhookBody(o.reply, undefined, o.chartUrl) }, options);
    case 'discord-webhook': {
      const url = new URL(o.url!);
      url.searchParams.set('wait', 'true');
      return postTarget(url.toString(), { headers: commonHeaders(o), body: options.platforms.discord.webhookBody(o.reply, o.png, undefined) }, options);
    }
    case 'discord-channel':
      return options.platforms.discord.post(o.channel!, o.reply, o.png);
    case 'slack-channel':
      return options.platforms.slack.post(o.channel!, o.reply, o.png);
    case 'email': {
      if (!options.mailer) return { ok: false, status: null, error: NO_TRANSPORT_MESSAGE, permanent: true };
      if (!o.email) return { ok: false, status: null, error: 'no recipient', permanent: true };
      const message = replyToEmail(o.reply, { png: o.png, why: o.email.why, stop: o.email.stop });
      return options.mailer.send(o.email.to, message, { id: o.deliveryId, timeoutMs: options.timeoutMs });
    }
  }
}
