import { randomUUID } from 'node:crypto';
import { Routes, type GatewayMessageCreateDispatchData, type REST } from './djs.ts';
import { answer, type AnswerChannel } from '../../chat/answer.ts';
import { busyReply } from '../../chat/dispatch.ts';
import { runReadAs, understandText, unreadAnswer } from '../../chat/plain/ask.ts';
import type { Reply } from '../../chat/reply.ts';
import type { Logger } from '../../logger.ts';
import type { Asker, Services } from '../../services.ts';
import type { RetryPolicy } from '../../util/retry.ts';
import { csvMessage, replyToDiscord, textMessage, type DiscordMessage } from './render.ts';
import { chartPng } from './chart-png.ts';
import { withRetry } from './rest.ts';

export interface MessageDeps {
  services: Services;
  rest: REST;
  retry: RetryPolicy;
  /** The bot's own user id: a mention of it is the question's address, not part of it. */
  botUserId: string;
}

/**
 * Which messages are questions: every direct message, and guild messages that mention the bot.
 * Only the gateway sees messages (MESSAGE_CREATE); the HTTP interactions endpoint gets slash
 * commands and clicks only. Discord sends a message's content to a bot without the privileged
 * Message Content intent exactly in these two cases.
 */
export function isQuestion(message: GatewayMessageCreateDispatchData, botUserId: string): boolean {
  if (message.author.bot || message.webhook_id) return false;
  return message.guild_id === undefined || message.mentions.some((u) => u.id === botUserId);
}

/** How an answer to a message reaches Discord: a reply in the channel; private parts by DM. */
function messageChannel(deps: MessageDeps, message: GatewayMessageCreateDispatchData, log: Logger): AnswerChannel {
  const { rest, retry, services } = deps;
  const direct = message.guild_id === undefined;
  const send = (channel: string, m: DiscordMessage, reference: boolean) =>
    withRetry(
      'channel message',
      () => rest.post(Routes.channelMessages(channel), { body: { ...m.body, ...(reference ? { message_reference: { message_id: message.id, fail_if_not_exists: false } } : {}) }, files: m.files }),
      retry,
      log,
    );
  // A guild channel has no ephemeral messages: what only the asker may read goes to their DMs.
  const privately = async (m: DiscordMessage) => {
    if (direct) return void (await send(message.channel_id, m, true));
    const dm = (await withRetry('open DM', () => rest.post(Routes.userChannels(), { body: { recipient_id: message.author.id } }), retry, log)) as { id: string };
    await send(dm.id, m, false);
  };
  return {
    showPrivately: (reply) => privately(replyToDiscord(reply)),
    sendCsvOnly: async (reply) => void (await send(message.channel_id, csvMessage(reply), true)),
    async showPublicly(reply: Reply, commandLine: string) {
      const png = await chartPng(services, reply, log);
      await send(message.channel_id, replyToDiscord(reply, { png, commandLine }), true);
    },
    reportFailure: (text) => privately(textMessage(text)),
  };
}

/**
 * A question by @mention or DM: read (a command line, or plain words via chat/plain), then
 * answered like a slash command, with the same access check. Only the gateway calls this.
 */
export async function answerMessage(deps: MessageDeps, message: GatewayMessageCreateDispatchData): Promise<void> {
  const { services } = deps;
  if (!isQuestion(message, deps.botUserId)) return;
  const requestId = randomUUID().replace(/-/g, '');
  const log = services.logger.child({ platform: 'discord', requestId, message: message.id });
  const channel = messageChannel(deps, message, log);
  const text = message.content.replace(new RegExp(`<@!?${deps.botUserId}>`, 'g'), '').trim() || 'help';
  const u = await understandText(services, text, { platform: 'discord', workspace: message.guild_id });
  const asker: Asker = {
    platform: 'discord',
    workspace: message.guild_id,
    // A DM has no channel audience to check: only the asker reads it.
    channel: message.guild_id === undefined ? undefined : message.channel_id,
    user: message.author.id,
    roles: message.member?.roles ?? [],
  };
  if (u.kind !== 'command' && u.kind !== 'read') return channel.showPrivately(await unreadAnswer(services, u, asker), undefined);
  if (services.busy('discord')) return channel.showPrivately(busyReply(), undefined);
  const run = u.kind === 'read' ? runReadAs(services.run, u.reading.line) : services.run;
  await services.defer(() => answer({ ...services, run }, { input: u.input, asker, requestId }, channel, log));
}
