import type { types } from '@slack/bolt';
import { contextLine, type Reply } from '../../chat/reply.ts';
import { clip } from '../../util/text.ts';

// Re-exported for the listeners in app.ts: one clip for adapters and import reports alike.
export { clip };

type KnownBlock = types.KnownBlock;
type Button = types.Button;

/** action_id prefixes of the buttons we render; the listeners match on them. */
export const RUN_ACTION = 'storecast:run';
export const CSV_ACTION = 'storecast:csv';

export interface SlackMessage {
  /** Notification and fallback text. */
  text: string;
  blocks: KnownBlock[];
}

// Block Kit limits (api.slack.com/reference/block-kit): exceeding any rejects the message.
const LIMITS = { header: 150, section: 3000, field: 2000, fieldsPerSection: 10, context: 3000, buttonText: 75, buttonValue: 2000, buttonsPerActions: 25, blocks: 50, text: 3000 } as const;

/** Slack's mrkdwn needs only &, < and > escaped. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface SlackRenderOptions {
  /** This reply's own command line: the CSV button runs it again. */
  commandLine?: string;
  /** Slack user id of the asker, credited in the context line. */
  requestedBy?: string;
  /** The chart as a public image URL (incoming webhooks cannot upload files). */
  imageUrl?: string;
  /** Buttons only where a click reaches this app (not through someone's incoming webhook). Default true. */
  interactive?: boolean;
}

/**
 * The one Slack renderer, for answers and weekly summaries alike: a Reply as Block Kit —
 * header, summary, facts as fields, the chart image when linked, a context line with data
 * freshness and model, and a button per follow-up (its value is the full command line to
 * run) plus "CSV" when the reply has a table. Every text escaped and within Slack's limits.
 */
export function replyToMessage(reply: Reply, options: SlackRenderOptions = {}): SlackMessage {
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: clip(reply.title || 'storecast', LIMITS.header), emoji: true } }];
  if (reply.summary) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(reply.summary), LIMITS.section) } });
  for (let i = 0; i < reply.facts.length; i += LIMITS.fieldsPerSection) {
    blocks.push({
      type: 'section',
      fields: reply.facts.slice(i, i + LIMITS.fieldsPerSection).map((f) => ({
        type: 'mrkdwn' as const,
        text: clip(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)}`, LIMITS.field),
      })),
    });
  }
  if (options.imageUrl && reply.chart) blocks.push({ type: 'image', image_url: options.imageUrl, alt_text: clip(reply.chart.alt, LIMITS.text) });
  const context = [
    options.requestedBy && /^[A-Z0-9]+$/.test(options.requestedBy) ? `Asked by <@${options.requestedBy}>` : undefined,
    contextLine(reply) === undefined ? undefined : escapeMrkdwn(contextLine(reply)!),
  ].filter((p): p is string => p !== undefined);
  if (context.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(context.join(' · '), LIMITS.context) }] });

  const buttons: Button[] = reply.actions
    .filter((a) => a.command.length <= LIMITS.buttonValue)
    .map((a, i) => ({
      type: 'button',
      action_id: `${RUN_ACTION}:${i}`,
      text: { type: 'plain_text', text: clip(a.label, LIMITS.buttonText), emoji: true },
      value: a.command,
    }));
  if (reply.table && options.commandLine && options.commandLine.length <= LIMITS.buttonValue) {
    buttons.push({ type: 'button', action_id: CSV_ACTION, text: { type: 'plain_text', text: 'CSV' }, value: options.commandLine });
  }
  if (buttons.length && options.interactive !== false) blocks.push({ type: 'actions', elements: buttons.slice(0, LIMITS.buttonsPerActions) });

  // The notification text is mrkdwn too: unescaped, a `<!channel>` in a title would ping everyone.
  return { text: clip(escapeMrkdwn(`${reply.title}: ${reply.summary}`), LIMITS.text), blocks: blocks.slice(0, LIMITS.blocks) };
}

/** A short plain message (acks, delivery failures). */
export function plainMessage(text: string): SlackMessage {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, LIMITS.section) } }] };
}
