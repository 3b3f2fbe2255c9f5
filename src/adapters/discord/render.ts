import { ButtonStyle, ComponentType, MessageFlags, type APIActionRowComponent, type APIButtonComponent, type APIEmbed, type RESTPatchAPIWebhookWithTokenMessageJSONBody, type RawFile } from './djs.ts';
import { homeOf, questionActions, type Home, type HomeAction, type HomeItem } from '../../chat/home.ts';
import { contextLine, tableAsCsv, type Reply } from '../../chat/reply.ts';
import { clip } from '../../util/text.ts';

export const RUN_PREFIX = 'run:';
export const CSV_PREFIX = 'csv:';
/** A home button bound to a channel: `home:<channel id>:<command line>` (a subscription's Stop). */
export const HOME_PREFIX = 'home:';
export const CHART_FILE = 'chart.png';

const COLORS = { answer: 0x2f6fde, error: 0xd9480f } as const;
// Embed limits (discord.com/developers/docs/resources/message#embed-object-embed-limits).
const LIMITS = { title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, footer: 2048, total: 6000, label: 80, customId: 100, buttons: 25, perRow: 5 } as const;

export interface DiscordMessage {
  body: RESTPatchAPIWebhookWithTokenMessageJSONBody & { flags?: number };
  files: RawFile[];
}

function footerText(reply: Reply): string | undefined {
  const line = contextLine(reply);
  return line === undefined ? undefined : clip(line, LIMITS.footer);
}

export interface DiscordRenderOptions {
  png?: Buffer;
  /** Name of the chart attachment (default chart.png). */
  pngName?: string;
  /** This reply's own command line: the CSV button runs it again. */
  commandLine?: string;
  ephemeral?: boolean;
  /** Buttons only where a click reaches this app (not through a plain channel webhook). Default true. */
  interactive?: boolean;
}

/**
 * The one Discord renderer, for answers and weekly summaries alike: a Reply as a Discord message: one embed (title, summary, facts as fields, footer with data
 * freshness and model) whose image is the chart PNG sent as an attachment, and a button per
 * follow-up (custom_id carries the command line) plus "CSV" when there is a table.
 */
export function replyToDiscord(reply: Reply, options: DiscordRenderOptions = {}): DiscordMessage {
  const home = homeOf(reply);
  if (home) return homeToDiscord(home, options);
  const isError = reply.visibility === 'ephemeral' && 'error' in reply.data;
  const embed: APIEmbed = { title: clip(reply.title, LIMITS.title), color: isError ? COLORS.error : COLORS.answer };
  let budget = LIMITS.total - (embed.title?.length ?? 0);
  const footer = footerText(reply);
  if (footer) {
    embed.footer = { text: footer };
    budget -= footer.length;
  }
  const fields = [];
  for (const f of reply.facts.slice(0, LIMITS.fields)) {
    const name = clip(f.label || '—', LIMITS.fieldName);
    const value = clip(f.value || '—', LIMITS.fieldValue);
    if (name.length + value.length > budget - 200) break;
    budget -= name.length + value.length;
    fields.push({ name, value, inline: value.length <= 40 });
  }
  if (fields.length) embed.fields = fields;
  if (reply.summary) embed.description = clip(reply.summary, Math.min(LIMITS.description, Math.max(1, budget)));
  const files: RawFile[] = [];
  const attachments: { id: number; filename: string; description?: string }[] = [];
  if (options.png && reply.chart) {
    const name = options.pngName ?? CHART_FILE;
    embed.image = { url: `attachment://${name}` };
    attachments.push({ id: files.length, filename: name, description: clip(reply.chart.alt, 1024) });
    files.push({ name, data: options.png, contentType: 'image/png' });
  }

  const buttons: APIButtonComponent[] = reply.actions
    .map((a) => ({ label: a.label, id: `${RUN_PREFIX}${a.command}` }))
    .concat(reply.table && options.commandLine ? [{ label: 'CSV', id: `${CSV_PREFIX}${options.commandLine}` }] : [])
    .filter((b) => b.id.length <= LIMITS.customId)
    .slice(0, 25)
    .map((b) => ({ type: ComponentType.Button, style: ButtonStyle.Secondary, label: clip(b.label, LIMITS.label), custom_id: b.id }));
  if (options.interactive === false) buttons.length = 0;
  const components = rows(buttons);
  return {
    body: {
      embeds: [embed],
      components,
      attachments,
      allowed_mentions: { parse: [] },
      ...(options.ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
    },
    files,
  };
}

/** The reply's table as a CSV attachment (the CSV button). */
export function csvMessage(reply: Reply): DiscordMessage {
  if (!reply.table) return textMessage('This answer has no table to download.');
  return {
    body: { content: `\`${reply.table.filename}\``, attachments: [{ id: 0, filename: reply.table.filename }], embeds: [], components: [], allowed_mentions: { parse: [] } },
    files: [{ name: reply.table.filename, data: Buffer.from(tableAsCsv(reply.table), 'utf8'), contentType: 'text/csv' }],
  };
}

export function textMessage(content: string, ephemeral = false): DiscordMessage {
  return { body: { content: clip(content, 2000), allowed_mentions: { parse: [] }, ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}) }, files: [] };
}

function rows(buttons: APIButtonComponent[]): APIActionRowComponent<APIButtonComponent>[] {
  const out: APIActionRowComponent<APIButtonComponent>[] = [];
  for (let i = 0; i < buttons.length; i += LIMITS.perRow) out.push({ type: ComponentType.ActionRow, components: buttons.slice(i, i + LIMITS.perRow) });
  return out;
}

/**
 * A home button: an item's action (Stop, Snooze) is `home:<channel>:` (the channel it runs in,
 * empty when any), so the click refreshes the home it was on; a question is `run:`, as anywhere.
 */
function homeButton(a: HomeAction & { item?: boolean }): APIButtonComponent | undefined {
  const id = a.item || a.channel ? `${HOME_PREFIX}${a.channel ?? ''}:${a.command}` : `${RUN_PREFIX}${a.command}`;
  if (id.length > LIMITS.customId) return undefined;
  return { type: ComponentType.Button, style: a.danger ? ButtonStyle.Danger : ButtonStyle.Secondary, label: clip(a.label, LIMITS.label), custom_id: id };
}

/** Lines of a list within `chars`, "and N more" when it does not all fit; the ids of the items shown. */
function listText(items: readonly HomeItem[], chars: number, more: string): { text: string; shown: HomeItem[] } {
  if (!items.length) return { text: 'None yet.', shown: [] };
  const lines: string[] = [];
  const shown: HomeItem[] = [];
  let used = 0;
  for (const [i, item] of items.entries()) {
    const line = clip(`${item.firing ? '🚨 ' : ''}\`${item.id}\` ${item.text}`, 300);
    const tail = i < items.length - 1 ? 60 + more.length : 0;
    if (used + line.length + 1 + tail > chars) break;
    lines.push(line);
    shown.push(item);
    used += line.length + 1;
  }
  if (shown.length < items.length) lines.push(`…and ${items.length - shown.length} more: ${more}`);
  return { text: lines.join('\n'), shown };
}

/**
 * /me in Discord: three embeds (you and your stores with the model and your top questions;
 * your subscriptions; your alerts) within the 6000 characters all embeds share, and up to 25
 * buttons in 5 rows: "Ask again" first, then Snooze / Stop of the alerts and Stop of the
 * subscriptions listed, in that order, as many as fit. Always private to the asker.
 */
export function homeToDiscord(home: Home, options: DiscordRenderOptions = {}): DiscordMessage {
  const questions = home.questions.length ? home.questions.map((q) => `\`${q.command}\` (${q.count}x)`).join('\n') : 'None yet.';
  const you: APIEmbed = {
    title: clip(home.title, LIMITS.title),
    color: COLORS.answer,
    description: clip(`You are ${home.who}.\n**Stores you see:** ${home.stores}`, 1500),
    fields: [
      { name: clip(home.model.title, LIMITS.fieldName), value: clip(home.model.summary || '—', LIMITS.fieldValue) },
      { name: 'Your top questions', value: clip(questions, LIMITS.fieldValue) },
    ],
  };
  const used = JSON.stringify(you).length;
  const budget = Math.floor((LIMITS.total - used - 200) / 2);
  const subs = listText(home.subscriptions, budget, '/subscriptions in their channel');
  const alerts = listText(home.alerts, budget, '/alerts');
  const embeds: APIEmbed[] = [
    you,
    { title: `Your subscriptions (${home.subscriptions.length})`, color: COLORS.answer, description: subs.text },
    { title: `Your alerts (${home.alerts.length})`, color: COLORS.answer, description: alerts.text },
  ];
  // Buttons are not beside their items here: each names its item.
  const named = (items: HomeItem[]) => items.flatMap((i) => i.actions.map((a) => ({ ...a, label: `${a.label} · ${i.id}`, item: true })));
  const wanted = [...questionActions(home), ...named(alerts.shown), ...named(subs.shown)];
  const buttons = wanted.map(homeButton).filter((b): b is APIButtonComponent => b !== undefined).slice(0, LIMITS.buttons);
  if (buttons.length < wanted.length) embeds[0]!.footer = { text: 'Not every item has its buttons here: /alerts and /unsubscribe reach the rest.' };
  return {
    body: { embeds, components: options.interactive === false ? [] : rows(buttons), attachments: [], allowed_mentions: { parse: [] }, ...(options.ephemeral ? { flags: MessageFlags.Ephemeral } : {}) },
    files: [],
  };
}
