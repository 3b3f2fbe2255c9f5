import { Client, Events, GatewayDispatchEvents, GatewayIntentBits, Routes, type APIInteraction, type GatewayDispatchPayload } from './djs.ts';
import { Hono } from 'hono';
import { readBody } from '../../util/body.ts';
import type { Services } from '../../services.ts';
import { Autocomplete, planInteraction, type InteractionDeps } from './interactions.ts';
import { answerMessage } from './messages.ts';
import { createRest, restOptions, withRetry } from './rest.ts';
import { DEFAULT_RETRY, type RetryPolicy } from '../../util/retry.ts';
import { discordPublicKey, verifyDiscordRequest } from './verify.ts';

export { buildDiscordCommands, discordCommand } from './commands.ts';
export { replyToDiscord } from './render.ts';
export { DISCORD_MAX_AGE_SECONDS, discordPublicKey, verifyDiscordRequest, type DiscordVerification } from './verify.ts';
export { planInteraction } from './interactions.ts';

export interface DiscordAdapterOptions {
  /** Retries of REST calls on 5xx and network errors (429s wait Retry-After in the SDK). */
  retry?: RetryPolicy;
}

/**
 * Discord's Interactions Endpoint URL, mounted by the server at `/discord`:
 * `POST /discord/interactions`. Ed25519-verified and signed within 5 minutes of now (401 and
 * nothing runs otherwise); PING is answered PONG; a command gets a deferred response at once
 * and its answer as an edit.
 */
export function discordRoutes(services: Services, options: DiscordAdapterOptions = {}): Hono {
  const routes = new Hono();
  const { publicKey: hex, apiUrl, botToken } = services.config.discord;
  if (!hex) {
    routes.post('/interactions', (c) => c.text('Discord is not configured: set DISCORD_PUBLIC_KEY.', 503));
    return routes;
  }
  const publicKey = discordPublicKey(hex);
  const retry = options.retry ?? DEFAULT_RETRY;
  const deps: InteractionDeps = { services, rest: createRest(apiUrl, botToken, retry), retry, autocomplete: new Autocomplete(services) };
  const log = services.logger.child({ component: 'discord' });

  routes.post('/interactions', async (c) => {
    const raw = await readBody(c.req.raw, 1024 * 1024);
    if (!raw) return c.text('payload too large', 413);
    const verdict = verifyDiscordRequest({ publicKey, body: raw, signature: c.req.header('x-signature-ed25519'), timestamp: c.req.header('x-signature-timestamp') });
    if (!verdict.ok) {
      services.metrics.errors.inc({ kind: 'platform' });
      // "stale" from real Discord traffic means this host's clock is off: worth telling apart.
      log.warn({ reason: verdict.reason }, 'discord request refused: bad, missing or stale signature');
      return c.text('invalid request signature', 401);
    }
    let interaction: APIInteraction;
    try {
      interaction = JSON.parse(raw.toString('utf8')) as APIInteraction;
    } catch {
      return c.text('unreadable body', 400);
    }
    const { initial, after } = await planInteraction(deps, interaction);
    if (after) void services.defer(after);
    return c.json(initial);
  });
  return routes;
}

const GATEWAY_CONNECT_TIMEOUT_MS = 60_000;

function rejectAfter(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`${message} within ${ms / 1000} s`)), ms).unref());
}

/**
 * Gateway mode (DISCORD_MODE=gateway): a discord.js Client holds a WebSocket to Discord, so no
 * public URL is needed. Interactions arrive as raw INTERACTION_CREATE payloads and go through
 * the same planInteraction() as HTTP; the initial response is the interaction callback.
 */
export async function startDiscordGateway(services: Services, options: DiscordAdapterOptions = {}): Promise<{ stop(): Promise<void> }> {
  const { botToken, apiUrl } = services.config.discord;
  if (!botToken) throw new Error('DISCORD_BOT_TOKEN is not set (gateway mode logs in as the bot)');
  const retry = options.retry ?? DEFAULT_RETRY;
  const log = services.logger.child({ component: 'discord', mode: 'gateway' });
  // Guild messages and DMs for questions by @mention or DM (messages.ts); no Message Content
  // intent: Discord sends the content of exactly those messages without it.
  const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages], rest: restOptions(apiUrl, retry) });
  const deps: InteractionDeps = { services, rest: client.rest, retry, autocomplete: new Autocomplete(services) };

  const handle = async (interaction: APIInteraction) => {
    const { initial, after } = await planInteraction(deps, interaction);
    await withRetry('interaction callback', () => client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), { body: initial, auth: false }), retry, log);
    if (after) await services.defer(after);
  };
  client.on(Events.Raw, (packet: GatewayDispatchPayload) => {
    if (packet.t === GatewayDispatchEvents.MessageCreate && client.user) {
      void services.track(answerMessage({ services, rest: client.rest, retry, botUserId: client.user.id }, packet.d)).catch((err: unknown) => {
        services.metrics.errors.inc({ kind: 'delivery' });
        log.error({ err, message: packet.d.id }, 'discord message answer failed');
      });
    }
    if (packet.t !== GatewayDispatchEvents.InteractionCreate) return;
    void services.track(handle(packet.d)).catch((err: unknown) => {
      services.metrics.errors.inc({ kind: 'delivery' });
      log.error({ err, interaction: packet.d.id }, 'discord interaction failed');
    });
  });
  client.on(Events.Error, (err) => log.error({ err }, 'discord client error'));

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    // An unreachable gateway can leave login waiting without an error: give the attempt a deadline.
    await Promise.race([client.login(botToken).then(() => ready), rejectAfter(GATEWAY_CONNECT_TIMEOUT_MS, 'the Discord gateway did not become ready')]);
  } catch (err) {
    await client.destroy().catch(() => {});
    throw err;
  }
  log.info({ user: client.user?.tag }, 'discord gateway connected');
  return {
    async stop() {
      await client.destroy();
    },
  };
}
