import { randomUUID } from 'node:crypto';
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
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
import { CSV_PREFIX, RUN_PREFIX, csvMessage, replyToDiscord, textMessage } from './render.ts';
import { chartPng } from './chart-png.ts';
import { interactionWebhook } from './rest.ts';
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
      const csvOnly = id.startsWith(CSV_PREFIX);
      if (!csvOnly && !id.startsWith(RUN_PREFIX)) return unsupported();
      const line = splitCommandLine(id.slice(csvOnly ? CSV_PREFIX.length : RUN_PREFIX.length));
      const { text, share } = answerWords(line.text ?? '');
      const input = { name: line.name, text };
      return plan(deps, interaction, input, { ephemeral: csvOnly || answersPrivately(services.registry, input.name), csvOnly, share });
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

function plan(deps: InteractionDeps, interaction: APIInteraction, input: CommandInput, mode: { ephemeral: boolean; csvOnly?: boolean; share?: boolean }): InteractionPlan {
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
    channel: interaction.channel?.id ?? interaction.channel_id,
    user: user?.id,
    roles: interaction.member?.roles ?? [],
  };
  return {
    initial: { type: InteractionResponseType.DeferredChannelMessageWithSource, ...(mode.ephemeral ? { data: { flags: MessageFlags.Ephemeral } } : {}) },
    after: () => deliver(deps, interaction, input, asker, mode),
  };
}

/** How an answer reaches Discord: edits of the deferred response, follow-ups for the asker. */
function discordChannel(deps: InteractionDeps, interaction: APIInteraction, mode: { ephemeral: boolean }, log: Logger): AnswerChannel {
  const { services } = deps;
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

async function deliver(deps: InteractionDeps, interaction: APIInteraction, input: CommandInput, asker: Asker, mode: { ephemeral: boolean; csvOnly?: boolean; share?: boolean }): Promise<void> {
  const requestId = randomUUID().replace(/-/g, '');
  const log = deps.services.logger.child({ platform: 'discord', requestId, interaction: interaction.id });
  await answer(deps.services, { input, asker, requestId, csvOnly: mode.csvOnly, share: mode.share }, discordChannel(deps, interaction, mode, log), log);
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
