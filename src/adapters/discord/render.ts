import { ButtonStyle, ComponentType, MessageFlags, type APIActionRowComponent, type APIButtonComponent, type APIEmbed, type RESTPatchAPIWebhookWithTokenMessageJSONBody, type RawFile } from './djs.ts';
import { contextLine, tableAsCsv, type Reply } from '../../chat/reply.ts';
import { clip } from '../../util/text.ts';

export const RUN_PREFIX = 'run:';
export const CSV_PREFIX = 'csv:';
export const CHART_FILE = 'chart.png';

const COLORS = { answer: 0x2f6fde, error: 0xd9480f } as const;
// Embed limits (discord.com/developers/docs/resources/message#embed-object-embed-limits).
const LIMITS = { title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, footer: 2048, total: 6000, label: 80, customId: 100 } as const;

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
  const components: APIActionRowComponent<APIButtonComponent>[] = [];
  if (options.interactive === false) buttons.length = 0;
  for (let i = 0; i < buttons.length; i += 5) components.push({ type: ComponentType.ActionRow, components: buttons.slice(i, i + 5) });

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
