import type { Config } from '../../config.ts';
import type { Reply } from '../../chat/reply.ts';
import { safeError, type PlatformPoster, type PostedMessage, type SendResult } from '../../delivery/result.ts';
import { DEFAULT_RETRY, isPermanentHttpFailure } from '../../util/retry.ts';
import { DiscordAPIError, HTTPError, RateLimitError, Routes } from './djs.ts';
import { replyToDiscord } from './render.ts';
import { createRest, postInThread } from './rest.ts';
import { clip } from '../../util/text.ts';

/**
 * What deliveries (summaries, alert notices, retrain outcomes) post to Discord: through the
 * adapter's one REST client (its DISCORD_API_URL base, its User-Agent, its 429 handling: a short
 * Retry-After waited out, a longer one handed to the delivery queue), or the multipart body of a
 * channel webhook. The delivery senders (src/delivery/send.ts) call it.
 */
function failure(what: string, err: unknown): SendResult & { ok: false } {
  if (err instanceof RateLimitError) return { ok: false, status: 429, error: `${what}: rate limited`, retryAfterMs: err.retryAfter };
  if (err instanceof DiscordAPIError || err instanceof HTTPError) return { ok: false, status: err.status, error: `${what}: HTTP ${err.status}`, permanent: isPermanentHttpFailure(err.status) };
  return { ok: false, status: null, error: `${what}: ${safeError(err)}` };
}

/** Thread fallbacks are recorded by the delivery queue's result, not logged twice. */
const QUIET = { warn: () => undefined };

/** A server this large is read no further: its role grants reach the first members only (and the log says so). */
const MAX_MEMBERS = 100_000;

export function discordPoster(config: Pick<Config, 'discord'>, timeoutMs: number): PlatformPoster {
  const { apiUrl, botToken } = config.discord;
  const client = botToken ? createRest(apiUrl, botToken, DEFAULT_RETRY, timeoutMs) : undefined;
  const noToken = (what: string): SendResult & { ok: false } => ({ ok: false, status: null, error: `${what}: DISCORD_BOT_TOKEN is not set`, permanent: true });
  return {
    async post(channel, reply, png) {
      if (!client) return noToken('Discord: cannot post to a channel');
      const message = replyToDiscord(reply, { png, pngName: 'summary.png', interactive: true });
      try {
        const posted = (await client.post(Routes.channelMessages(channel), { body: message.body, files: message.files })) as { id?: string; channel_id?: string };
        return { ok: true, status: 200, ...(posted?.id ? { message: { channel: posted.channel_id ?? channel, id: posted.id } } : {}) };
      } catch (err) {
        return failure('Discord', err);
      }
    },
    async update(at, reply) {
      if (!client) return noToken('Discord: cannot edit a message');
      // The attachments posted with it (the chart) stay: an edit without `attachments` keeps them.
      const message = replyToDiscord(reply, { interactive: true });
      try {
        await client.patch(Routes.channelMessage(at.channel, at.id), { body: message.body });
        return { ok: true, status: 200, message: at };
      } catch (err) {
        return failure('Discord', err);
      }
    },
    async threadReply(at: PostedMessage, reply, options) {
      if (!client) return noToken('Discord: cannot post in a thread');
      const message = replyToDiscord(reply, { interactive: true });
      const thread = { channel: at.channel, message: at.id, inThread: false, name: clip(options?.name ?? reply.title, 100), direct: options?.direct };
      try {
        await postInThread(client, thread, message, DEFAULT_RETRY, QUIET);
        return { ok: true, status: 200 };
      } catch (err) {
        return failure('Discord', err);
      }
    },
    async openDm(user) {
      const what = 'Discord: could not open the direct message';
      if (!client) return noToken(what);
      try {
        const dm = (await client.post(Routes.userChannels(), { body: { recipient_id: user } })) as { id: string };
        return { channel: dm.id };
      } catch (err) {
        return failure(what, err);
      }
    },
    async members(guild) {
      if (!client) return noToken('Discord: cannot list server members');
      const out: { user: string; roles: string[] }[] = [];
      try {
        // A page of at most 1000 members after the last id seen, until a short page.
        for (let after = '0'; out.length < MAX_MEMBERS; ) {
          const page = (await client.get(Routes.guildMembers(guild), { query: new URLSearchParams({ limit: '1000', after }) })) as { user?: { id: string }; roles: string[] }[];
          for (const m of page) if (m.user) out.push({ user: m.user.id, roles: m.roles });
          if (page.length < 1000 || !page.at(-1)?.user) break;
          after = page.at(-1)!.user!.id;
        }
        return out;
      } catch (err) {
        return failure('Discord: could not list server members (does the bot have the Server Members intent?)', err);
      }
    },
    webhookBody: (reply, png) => webhookForm(reply, png),
  };
}

/** A Discord channel webhook's body: payload_json plus the files it names; no buttons (a click would reach no app). */
function webhookForm(reply: Reply, png: Buffer | undefined): FormData {
  const message = replyToDiscord(reply, { png, pngName: 'summary.png', interactive: false });
  const form = new FormData();
  form.append('payload_json', JSON.stringify(message.body));
  message.files.forEach((f, i) => form.append(`files[${i}]`, new Blob([new Uint8Array(f.data as Buffer)], { type: f.contentType ?? 'application/octet-stream' }), f.name));
  return form;
}

