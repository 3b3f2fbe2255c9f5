import type { Reply } from '../chat/reply.ts';
import type { Config } from '../config.ts';
import { outboundPolicy, type Outbound } from '../net/outbound.ts';
import type { Platforms, SendResult } from './result.ts';
import { send } from './send.ts';

/** Posts one message to the operators' channel; `id` names it in the delivery log. */
export type AdminPost = (reply: Reply, id: string) => Promise<SendResult>;

/**
 * The operators' channel (STORECAST_ADMIN_CHANNEL) through the one sender: how model work
 * (retraining, below in the layers) reports without importing delivery. Undefined when no
 * platform posting is wired; the channel is read at each post.
 */
export function adminChannelPoster(
  config: Pick<Config, 'modelOps' | 'slack' | 'discord' | 'outboundAllow'>,
  platforms: Platforms | undefined,
  outbound?: Pick<Outbound, 'request'>,
): AdminPost | undefined {
  if (!platforms) return undefined;
  return async (reply, id) => {
    const target = config.modelOps.adminChannel;
    if (!target) return { ok: false, status: null, error: 'no STORECAST_ADMIN_CHANNEL is set', permanent: true };
    return send(
      {
        deliveryId: id,
        subscriptionId: 'admin-channel',
        period: new Date().toISOString().slice(0, 10),
        targetKind: target.platform === 'slack' ? 'slack-channel' : 'discord-channel',
        channel: target.channel,
        reply,
      },
      // Channel posts go to the platform's API, never to a user-given URL; outbound is the send() contract.
      { outbound: outbound ?? outboundPolicy(config), timeoutMs: 10_000, platforms: platforms(10_000) },
    );
  };
}
