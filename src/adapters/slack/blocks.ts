import type { types } from '@slack/bolt';
import { questionActions, type Home, type HomeAction, type HomeItem } from '../../chat/home.ts';
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

/** action_id prefix of the App Home's buttons (the listener answers their clicks in the user's DM). */
export const HOME_ACTION = 'storecast:home';
/** Slack's limit of blocks in a view (App Home, modals); messages have LIMITS.blocks. */
export const VIEW_BLOCKS = 100;

/** A home button's value: the command line and, for a subscription's Stop, the channel it runs in. */
export function homeButtonValue(action: HomeAction): string {
  return JSON.stringify(action.channel ? { c: action.command, ch: action.channel } : { c: action.command });
}

export function parseHomeValue(value: string | undefined): { command: string; channel?: string } | undefined {
  try {
    const v = JSON.parse(value ?? '') as { c?: unknown; ch?: unknown };
    if (typeof v.c !== 'string') return undefined;
    return { command: v.c, ...(typeof v.ch === 'string' && /^[A-Z0-9]+$/.test(v.ch) ? { channel: v.ch } : {}) };
  } catch {
    return undefined;
  }
}

function homeButtons(actions: readonly HomeAction[], idPrefix: string): Button[] {
  return actions.slice(0, LIMITS.buttonsPerActions).map((a, i) => ({
    type: 'button',
    action_id: `${HOME_ACTION}:${idPrefix}:${i}`,
    text: { type: 'plain_text', text: clip(a.label, LIMITS.buttonText), emoji: true },
    value: clip(homeButtonValue(a), LIMITS.buttonValue),
    ...(a.danger ? { style: 'danger' as const } : {}),
  }));
}

const mrkdwn = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text: clip(text, LIMITS.section) } });

/**
 * A list of items within `budget` blocks: a section per item, its buttons as the section's
 * accessory (one) or an actions block (more), and "and N more" when the rest does not fit.
 */
function itemBlocks(title: string, items: readonly HomeItem[], budget: number, more: string, key: string): KnownBlock[] {
  const blocks: KnownBlock[] = [mrkdwn(`*${escapeMrkdwn(title)}* (${items.length})`)];
  if (!items.length) return [...blocks, { type: 'context', elements: [{ type: 'mrkdwn', text: 'None yet.' }] }];
  const cost = (item: HomeItem) => (item.actions.length > 1 ? 2 : 1);
  let shown = 0;
  for (const item of items) {
    const left = items.length - shown - 1;
    // Room for this item, and for the "and N more" line if any remain after it.
    if (blocks.length + cost(item) + (left > 0 ? 1 : 0) > budget) break;
    const text = `${item.firing ? ':rotating_light: ' : ''}\`${item.id}\` ${escapeMrkdwn(item.text)}`;
    const buttons = homeButtons(item.actions, `${key}${shown}`);
    if (buttons.length === 1) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(text, LIMITS.section) }, accessory: buttons[0]! });
    else blocks.push(mrkdwn(text), ...(buttons.length ? [{ type: 'actions' as const, elements: buttons }] : []));
    shown++;
  }
  if (shown < items.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(`…and ${items.length - shown} more: ${more}`, LIMITS.context) }] });
  return blocks;
}

/**
 * The App Home tab (views.publish): who the user is and the stores they see, the model's live
 * accuracy, their top questions with "Ask again", then their subscriptions and alerts with
 * Stop / Snooze — the lists share what is left of the 100-block view limit.
 */
export function homeView(home: Home): { type: 'home'; blocks: KnownBlock[] } {
  const top: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(home.title, LIMITS.header), emoji: true } },
    mrkdwn(`You are ${escapeMrkdwn(home.who)}.\n*Stores you see:* ${escapeMrkdwn(home.stores)}`),
    mrkdwn(`*${escapeMrkdwn(home.model.title)}*\n${escapeMrkdwn(home.model.summary)}`),
    mrkdwn(
      home.questions.length ? `*Your top questions*\n${home.questions.map((q) => `• \`${escapeMrkdwn(q.command)}\` (${q.count}x)`).join('\n')}` : '*Your top questions*\nNone yet: ask with a slash command, @storecast, or a message here.',
    ),
  ];
  const ask = homeButtons(questionActions(home).map((a) => ({ label: clip(a.label, LIMITS.buttonText), command: a.command })), 'q');
  if (ask.length) top.push({ type: 'actions', elements: ask });
  top.push({ type: 'divider' });
  const left = VIEW_BLOCKS - top.length - 1; // one divider between the lists
  const subscriptions = itemBlocks('Your subscriptions', home.subscriptions, Math.max(2, Math.floor(left / 2)), '/subscriptions in their channel lists them all.', 's');
  const alerts = itemBlocks('Your alerts', home.alerts, left - subscriptions.length, '/alerts lists them all.', 'a');
  return { type: 'home', blocks: [...top, ...subscriptions, { type: 'divider' }, ...alerts] };
}
