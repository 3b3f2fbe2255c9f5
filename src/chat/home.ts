import type { Reply, ReplyAction } from './reply.ts';

/**
 * A user's home (Slack App Home, Discord /me, the console's /me): built once, platform-neutral,
 * by commands/me.ts; each surface renders it its own way within its limits (Slack's 100 blocks
 * of a view, Discord's 10 embeds, 6000 characters and 25 buttons), saying "and N more" when
 * a list does not fit. Surfaces without a home renderer show `homeReply`, a plain Reply.
 */

/** A button on the home: a command line run as the clicker, through every check it has when typed. */
export interface HomeAction {
  label: string;
  command: string;
  /**
   * The channel the command runs in, when that is not where the home is shown: a channel's
   * subscription is found (and stopped) from its own channel, as /unsubscribe there would.
   */
  channel?: string;
  /** Stops or removes something (rendered as a danger button). */
  danger?: boolean;
}

/** One subscription or alert rule of the user: a line of text and its buttons. */
export interface HomeItem {
  id: string;
  text: string;
  /** An alert now firing: shown first and marked. */
  firing?: boolean;
  /** A copy of a per-recipient summary sent to the user (someone else set it up). */
  copy?: boolean;
  actions: HomeAction[];
}

export interface Home {
  title: string;
  /** What the user may see and do: "viewer of Store 5". */
  who: string;
  /** The stores the user may see, in words ("Store 5 (West)", "all 45 stores"). */
  stores: string;
  subscriptions: HomeItem[];
  alerts: HomeItem[];
  /** The active model's live accuracy over the user's stores, as /model says it. */
  model: { title: string; summary: string };
  /** The user's most asked questions (normalised command lines), most first. */
  questions: { command: string; count: number }[];
}

/** The home a reply carries (`data.home`), when it is one. */
export function homeOf(reply: Reply): Home | undefined {
  const home = reply.data.home as Home | undefined;
  return home && typeof home === 'object' && Array.isArray(home.subscriptions) && Array.isArray(home.alerts) && Array.isArray(home.questions) ? home : undefined;
}

/** "Ask again" buttons of the top questions. */
export function questionActions(home: Home): ReplyAction[] {
  return home.questions.map((q) => ({ label: `Ask again: ${q.command}`, command: q.command }));
}

/** Generic buttons at most (a Reply's actions): the three questions and the first item buttons. */
const REPLY_ACTIONS = 10;

/** "2 you set up, 1 copy sent to you". */
function subscriptionsLine(items: readonly HomeItem[]): string {
  const copies = items.filter((i) => i.copy).length;
  const own = items.length - copies;
  const parts = [own ? `${own} you set up` : 'none you set up', ...(copies ? [`${copies} cop${copies === 1 ? 'y' : 'ies'} sent to you`] : [])];
  return parts.join(', ');
}

/**
 * The home as a plain Reply, for surfaces without a home renderer (the console, the CLI,
 * `/storecast me` in a Slack channel): facts, one table of the items, and the buttons that
 * work from anywhere (a button bound to another channel is left to the home renderers).
 */
export function homeReply(home: Home): Reply {
  const items = [...home.subscriptions.map((i) => ['subscription', i] as const), ...home.alerts.map((i) => ['alert', i] as const)];
  // Away from their items, buttons name them: "Stop alr_1a2b…".
  const anywhere = items.flatMap(([, i]) => i.actions.filter((a) => a.channel === undefined).map((a) => ({ label: `${a.label} ${i.id}`, command: a.command })));
  return {
    title: home.title,
    summary: `You are ${home.who}. You see ${home.stores}.`,
    facts: [
      { label: home.model.title, value: home.model.summary },
      { label: 'Subscriptions', value: subscriptionsLine(home.subscriptions) },
      { label: 'Alerts', value: home.alerts.length ? `${home.alerts.length}, ${home.alerts.filter((a) => a.firing).length} firing` : 'none of yours' },
      { label: 'Your top questions', value: home.questions.length ? home.questions.map((q) => `${q.command} (${q.count}x)`).join('\n') : 'none asked yet' },
    ],
    ...(items.length ? { table: { columns: ['kind', 'id', 'what'], rows: items.map(([kind, i]) => [kind, i.id, i.text]), filename: 'home.csv' } } : {}),
    actions: [...questionActions(home), ...anywhere].slice(0, REPLY_ACTIONS),
    visibility: 'ephemeral',
    context: {},
    data: { home },
  };
}
