import { randomUUID } from 'node:crypto';
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ChannelType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  type APIApplicationCommandInteractionDataBasicOption,
  type APIApplicationCommandOptionChoice,
  type APIChatInputApplicationCommandInteractionData,
  type APIInteraction,
  type APIInteractionResponse,
  type REST,
} from './djs.ts';
import { busyReply, precheck, splitCommandLine, unavailableReply, userErrorReply, type CommandInput, type CommandRegistry } from '../../chat/dispatch.ts';
import { answer, answerWords, type AnswerChannel } from '../../chat/answer.ts';
import type { Logger } from '../../logger.ts';
import { resolveAccess } from '../../access/access.ts';
import type { Identity } from '../../access/principal.ts';
import type { Asker, Services } from '../../services.ts';
import { registryName } from './commands.ts';
import { CSV_PREFIX, HOME_PREFIX, RUN_PREFIX, csvMessage, replyToDiscord, textMessage, type DiscordMessage } from './render.ts';
import { chartPng } from './chart-png.ts';
import { interactionWebhook, postInThread, type ThreadOn } from './rest.ts';
import { clip } from '../../util/text.ts';
import type { RetryPolicy } from '../../util/retry.ts';

export interface InteractionDeps {
  services: Services;
  rest: REST;
  retry: RetryPolicy;
  autocomplete: Autocomplete;
}

/** What to answer Discord right now, and the work to run once that answer is out. */
export interface InteractionPlan {
  initial: APIInteractionResponse;
  after?: () => Promise<void>;
}

/**
 * The one interaction flow for HTTP and gateway: decide the initial response without doing
 * anything slow (a deferred response, type 5, for every command), then run the command,
 * render the chart and edit the original response with the embed and the PNG.
 */
export async function planInteraction(deps: InteractionDeps, interaction: APIInteraction): Promise<InteractionPlan> {
  const { services } = deps;
  switch (interaction.type) {
    case InteractionType.Ping:
      return { initial: { type: InteractionResponseType.Pong } };

    case InteractionType.ApplicationCommand: {
      if (interaction.data.type !== ApplicationCommandType.ChatInput) return unsupported();
      const input = commandInput(services.registry, interaction.data);
      return plan(deps, interaction, input, { ephemeral: answersPrivately(services.registry, input.name) });
    }

    case InteractionType.MessageComponent: {
      const id = interaction.data.custom_id;
      const home = homeButton(id);
      const csvOnly = id.startsWith(CSV_PREFIX);
      if (!home && !csvOnly && !id.startsWith(RUN_PREFIX)) return unsupported();
      const line = splitCommandLine(home ? home.line : id.slice(csvOnly ? CSV_PREFIX.length : RUN_PREFIX.length));
      const { text, share } = answerWords(line.text ?? '');
      const input = { name: line.name, text };
      // A home's Stop runs in the subscription's channel, where /unsubscribe finds it; nothing else takes a channel from a button.
      if (home) return plan(deps, interaction, input, { ephemeral: true, channel: input.name.toLowerCase() === 'unsubscribe' ? home.channel : undefined, refreshHome: true });
      const ephemeral = csvOnly || answersPrivately(services.registry, input.name);
      return plan(deps, interaction, input, { ephemeral, csvOnly, share, thread: ephemeral ? undefined : followUpThread(services, interaction) });
    }

    case InteractionType.ApplicationCommandAutocomplete: {
      const name = registryName(services.registry, interaction.data.name);
      const opts = (interaction.data.options ?? []) as (APIApplicationCommandInteractionDataBasicOption & { focused?: boolean })[];
      const focused = opts.find((o) => o.focused);
      const def = services.registry.get(name)?.options.find((o) => o.name === focused?.name);
      const store = Number(opts.find((o) => o.name === 'store' && !o.focused)?.value);
      const user = interaction.member?.user ?? interaction.user;
      const who = { platform: 'discord' as const, workspace: interaction.guild_id, user: user?.id, roles: interaction.member?.roles ?? [] };
      const choices = def?.autocomplete ? await deps.autocomplete.choices(def.autocomplete, String(focused?.value ?? ''), Number.isInteger(store) && store > 0 ? store : undefined, who) : [];
      return { initial: { type: InteractionResponseType.ApplicationCommandAutocompleteResult, data: { choices } } };
    }

    default:
      return unsupported();
  }
}

/** `home:<channel>:<command line>`: an item's button on a home, bound to a channel or (empty) to none. */
function homeButton(id: string): { channel?: string; line: string } | undefined {
  const m = new RegExp(`^${HOME_PREFIX}(\\d*):(.+)$`).exec(id);
  return m ? { channel: m[1] || undefined, line: m[2]! } : undefined;
}

/** Where a follow-up's answer goes when it answers in the clicked message's thread. */
export type FollowUpThread = ThreadOn;

const THREAD_TYPES: readonly number[] = [ChannelType.AnnouncementThread, ChannelType.PublicThread, ChannelType.PrivateThread];

/**
 * A follow-up clicked on a message posted in a server channel (a weekly summary, an answer)
 * answers in a thread on that message, started through the REST API as the bot; on a message
 * already in a thread, in that thread. Not for ephemeral messages or DMs (no threads there),
 * and not without a bot token: then the interaction's own response answers, as before.
 */
export function followUpThread(services: Pick<Services, 'config'>, interaction: APIInteraction): FollowUpThread | undefined {
  if (interaction.type !== InteractionType.MessageComponent || !interaction.guild_id || !services.config.discord.botToken) return undefined;
  const message = interaction.message;
  const channel = interaction.channel?.id ?? interaction.channel_id;
  if (!message || !channel || ((message.flags ?? 0) & MessageFlags.Ephemeral) !== 0) return undefined;
  const title = message.embeds?.[0]?.title ?? 'storecast';
  return { channel, message: message.id, inThread: THREAD_TYPES.includes(interaction.channel?.type ?? -1), name: clip(`Follow-ups: ${title}`, 100) };
}

/** Commands that answer the asker alone are deferred privately: nothing shows in the channel. */
function answersPrivately(registry: CommandRegistry, name: string): boolean {
  return registry.get(name)?.answersPrivately === true;
}

/**
 * A slash command's options as the parser takes them. A user, role or mentionable option is an
 * id; the interaction's resolved data says which it is, and it goes on as mention text (`<@id>`
 * for a member, `<@&id>` for a role), as the free-text parser reads it.
 */
export function commandInput(registry: CommandRegistry, data: APIChatInputApplicationCommandInteractionData): CommandInput {
  const options: Record<string, unknown> = {};
  for (const o of (data.options ?? []) as APIApplicationCommandInteractionDataBasicOption[]) {
    const role = o.type === ApplicationCommandOptionType.Role || (o.type === ApplicationCommandOptionType.Mentionable && data.resolved?.roles?.[o.value] !== undefined);
    const user = o.type === ApplicationCommandOptionType.User || o.type === ApplicationCommandOptionType.Mentionable;
    options[o.name] = role ? `<@&${o.value}>` : user ? `<@${o.value}>` : o.value;
  }
  return { name: registryName(registry, data.name), options };
}

function unsupported(): InteractionPlan {
  return { initial: { type: InteractionResponseType.ChannelMessageWithSource, data: { content: 'This interaction is not supported.', flags: MessageFlags.Ephemeral } } };
}

interface PlanMode {
  ephemeral: boolean;
  csvOnly?: boolean;
  share?: boolean;
  /** Run as if asked in this channel (a home's Stop), not the interaction's. */
  channel?: string;
  /** Answer in a thread on the clicked message (followUpThread). */
  thread?: FollowUpThread;
  /** A home's item button: the answer goes to the asker alone, then the home it was on is shown again as it now is. */
  refreshHome?: boolean;
}

function plan(deps: InteractionDeps, interaction: APIInteraction, input: CommandInput, mode: PlanMode): InteractionPlan {
  const { services } = deps;
  const problem = precheck(services.registry, input, { platform: 'discord', workspace: interaction.guild_id });
  if (problem) {
    services.metrics.errors.inc({ kind: 'user' });
    const m = replyToDiscord(userErrorReply(problem), { ephemeral: true });
    return { initial: { type: InteractionResponseType.ChannelMessageWithSource, data: { ...m.body, flags: MessageFlags.Ephemeral } as never } };
  }
  // A database known to be away is said in the initial response, not after a wait for a query to fail.
  const refusal = services.busy('discord') ? busyReply() : !services.db.health.up ? unavailableReply() : undefined;
  if (refusal) {
    const m = replyToDiscord(refusal, { ephemeral: true });
    return { initial: { type: InteractionResponseType.ChannelMessageWithSource, data: { ...m.body, flags: MessageFlags.Ephemeral } as never } };
  }
  const user = interaction.member?.user ?? interaction.user;
  const asker: Asker = {
    platform: 'discord',
    workspace: interaction.guild_id,
    channel: mode.channel ?? interaction.channel?.id ?? interaction.channel_id,
    user: user?.id,
    roles: interaction.member?.roles ?? [],
  };
  // In a thread, or on a home that is redrawn after the click, the answer is a message of its
  // own: the click is acknowledged without one (and @original stays the clicked message).
  const initial: APIInteractionResponse = mode.thread || mode.refreshHome
    ? { type: InteractionResponseType.DeferredMessageUpdate }
    : { type: InteractionResponseType.DeferredChannelMessageWithSource, ...(mode.ephemeral ? { data: { flags: MessageFlags.Ephemeral } } : {}) };
  return {
    initial,
    after: () => deliver(deps, interaction, input, asker, mode),
  };
}

/** A follow-up answered in the clicked message's thread; what only the asker may see goes as an ephemeral follow-up. */
function threadChannel(deps: InteractionDeps, interaction: APIInteraction, t: FollowUpThread, log: Logger): AnswerChannel {
  const hook = interactionWebhook(deps.rest, interaction.application_id, interaction.token, deps.retry, log);
  const post = async (m: DiscordMessage) => void (await postInThread(deps.rest, t, m, deps.retry, log));
  return {
    showPrivately: (reply) => hook.followUp(replyToDiscord(reply, { ephemeral: true })).then(() => undefined),
    sendCsvOnly: (reply) => post(csvMessage(reply)),
    async showPublicly(reply, commandLine) {
      const png = await chartPng(deps.services, reply, log);
      await post(replyToDiscord(reply, { png, commandLine }));
    },
    reportFailure: (text) => hook.followUp(textMessage(text, true)).then(() => undefined),
  };
}

/** A home's item button: every answer is a private follow-up; the home itself is redrawn after it (refreshHome). */
function homeClickChannel(deps: InteractionDeps, interaction: APIInteraction, log: Logger): AnswerChannel {
  const hook = interactionWebhook(deps.rest, interaction.application_id, interaction.token, deps.retry, log);
  const privately = (m: DiscordMessage) => hook.followUp({ ...m, body: { ...m.body, flags: MessageFlags.Ephemeral } }).then(() => undefined);
  return {
    showPrivately: (reply) => privately(replyToDiscord(reply, { ephemeral: true })),
    sendCsvOnly: (reply) => privately(csvMessage(reply)),
    showPublicly: (reply, commandLine) => privately(replyToDiscord(reply, { ephemeral: true, commandLine })),
    reportFailure: (text) => privately(textMessage(text, true)),
  };
}

/**
 * The home the click was on, drawn again for the asker (a stopped subscription or alert
 * leaves it, a snoozed one says so): /me as it is now, with every check /me has. When /me
 * does not answer (rate limit, access), the old home stays.
 */
async function refreshHome(deps: InteractionDeps, interaction: APIInteraction, asker: Asker, log: Logger): Promise<void> {
  const outcome = await deps.services.run({ name: 'me', text: '' }, { ...asker, channel: interaction.channel?.id ?? interaction.channel_id });
  if (outcome.kind !== 'ok') return;
  const hook = interactionWebhook(deps.rest, interaction.application_id, interaction.token, deps.retry, log);
  await hook.editOriginal(replyToDiscord(outcome.reply, { ephemeral: true }));
}

/** How an answer reaches Discord: edits of the deferred response, follow-ups for the asker. */
function discordChannel(deps: InteractionDeps, interaction: APIInteraction, mode: PlanMode, log: Logger): AnswerChannel {
  const { services } = deps;
  if (mode.thread) return threadChannel(deps, interaction, mode.thread, log);
  if (mode.refreshHome) return homeClickChannel(deps, interaction, log);
  const hook = interactionWebhook(deps.rest, interaction.application_id, interaction.token, deps.retry, log);
  return {
    async showPrivately(reply) {
      if (mode.ephemeral) {
        await hook.editOriginal(replyToDiscord(reply));
        return;
      }
      // The deferral was public; an error or a private answer goes to the asker alone.
      await hook.deleteOriginal();
      await hook.followUp(replyToDiscord(reply, { ephemeral: true }));
    },
    async sendCsvOnly(reply) {
      await hook.editOriginal(csvMessage(reply));
    },
    async showPublicly(reply, commandLine) {
      const png = await chartPng(services, reply, log);
      await hook.editOriginal(replyToDiscord(reply, { png, commandLine }));
    },
    async reportFailure(text) {
      await hook.followUp(textMessage(text, true));
    },
  };
}

async function deliver(deps: InteractionDeps, interaction: APIInteraction, input: CommandInput, asker: Asker, mode: PlanMode): Promise<void> {
  const requestId = randomUUID().replace(/-/g, '');
  const log = deps.services.logger.child({ platform: 'discord', requestId, interaction: interaction.id });
  await answer(deps.services, { input, asker, requestId, csvOnly: mode.csvOnly, share: mode.share }, discordChannel(deps, interaction, mode, log), log);
  if (mode.refreshHome) await refreshHome(deps, interaction, asker, log);
}

/** Store and department numbers as the user types, from the database, cached briefly. */
export class Autocomplete {
  private cache = new Map<string, { at: number; rows: { id: number; label: string }[] }>();

  constructor(
    private readonly services: Services,
    private readonly ttlMs = 60_000,
    private readonly budgetMs = 2_000,
  ) {}

  /** Offers only stores the asker may see (and departments of those): autocomplete must not list the others. */
  async choices(kind: 'store' | 'dept', typed: string, store: number | undefined, who: Identity): Promise<APIApplicationCommandOptionChoice<number>[]> {
    let rows: { id: number; label: string }[];
    try {
      rows = await Promise.race([
        this.visibleRows(kind, store, who),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('autocomplete query over budget')), this.budgetMs).unref()),
      ]);
    } catch (err) {
      this.services.logger.warn({ err: String(err), kind }, 'discord autocomplete failed');
      return [];
    }
    const t = typed.trim();
    const ranked = t === '' ? rows : [...rows.filter((r) => String(r.id).startsWith(t)), ...rows.filter((r) => !String(r.id).startsWith(t) && String(r.id).includes(t))];
    return ranked.slice(0, 25).map((r) => ({ name: r.label.slice(0, 100), value: r.id }));
  }

  private async visibleRows(kind: 'store' | 'dept', store: number | undefined, who: Identity) {
    const visible = await (await resolveAccess(this.services.db, this.services.config.access, who)).stores();
    if (visible !== 'all' && store !== undefined && !visible.has(store)) return [];
    const rows = await this.rows(kind, store);
    return kind === 'store' && visible !== 'all' ? rows.filter((r) => visible.has(r.id)) : rows;
  }

  private async rows(kind: 'store' | 'dept', store: number | undefined) {
    const key = `${kind}:${store ?? ''}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.rows;
    const db = this.services.db;
    let rows: { id: number; label: string }[];
    if (kind === 'store') {
      const found = await db.query<{ store_id: number; type: string | null; region: string | null }>('SELECT store_id, type, region FROM stores ORDER BY store_id');
      rows = found.map((r) => ({ id: r.store_id, label: [`Store ${r.store_id}`, r.type ? `type ${r.type}` : undefined, r.region ?? undefined].filter(Boolean).join(' · ') }));
    } else {
      const found = await db.query<{ dept_id: number; name: string | null }>(
        // Chain-wide from the maintained department totals, not a DISTINCT over every sales row.
        `SELECT d.dept_id, dep.name FROM (SELECT DISTINCT dept_id FROM ${store === undefined ? 'dept_week_sales' : 'weekly_sales WHERE store_id = $1'}) d
           LEFT JOIN departments dep ON dep.dept_id = d.dept_id ORDER BY d.dept_id`,
        store === undefined ? [] : [store],
      );
      rows = found.map((r) => ({ id: r.dept_id, label: r.name ? `Dept ${r.dept_id} · ${r.name}` : `Dept ${r.dept_id}` }));
    }
    this.cache.set(key, { at: Date.now(), rows });
    return rows;
  }
}
