import { randomUUID } from 'node:crypto';
import { App, webApi, type Authorize, type Receiver } from '@slack/bolt';
import { busyReply, precheck, splitCommandLine, unavailableReply, userErrorReply, type CommandInput } from '../../chat/dispatch.ts';
import { answer, answerWords, type AnswerChannel } from '../../chat/answer.ts';
import { runReadAs, understandText, unreadAnswer } from '../../chat/plain/ask.ts';
import { tableAsCsv, type Reply } from '../../chat/reply.ts';
import type { Asker, Services } from '../../services.ts';
import { CSV_ACTION, HOME_ACTION, RUN_ACTION, clip, escapeMrkdwn, homeView, parseHomeValue, plainMessage, replyToMessage, type SlackMessage } from './blocks.ts';
import { homeOf } from '../../chat/home.ts';
import type { Logger } from '../../logger.ts';
import { boltLogger } from './logger.ts';
import { postToResponseUrl } from './response-url.ts';
import { slackApiBase } from './api-base.ts';
import { DEFAULT_RETRY, type RetryPolicy } from '../../util/retry.ts';

const { WebClient } = webApi;
type WebClient = webApi.WebClient;

export interface SlackAdapterOptions {
  /** Retries of `response_url` posts and of Web API calls (429 waits Retry-After; 5xx backs off). */
  retry?: RetryPolicy;
  /** Per-request timeout of Web API calls. */
  apiTimeoutMs?: number;
}

/** A slash command's text, minus the adapters' own words (`csv`, `share`: chat/answer.ts). */
export function slackInput(commandName: string, text: string): { input: CommandInput; csv: boolean; share: boolean; line: string } {
  let name = commandName.replace(/^\//, '').toLowerCase();
  let rest = text ?? '';
  // `/storecast forecast store 5`: one umbrella command for workspaces where /top or /sales is taken.
  if (name === 'storecast') {
    const inner = splitCommandLine(rest || 'help');
    name = inner.name.toLowerCase();
    rest = inner.text ?? '';
  }
  const { text: textOut, csv, share } = answerWords(rest);
  return { input: { name, text: textOut }, csv, share, line: `/${name}${textOut ? ` ${textOut}` : ''}` };
}

export { slackApiBase } from './api-base.ts';

/**
 * One bot token, no OAuth: the token is the workspace's install. The bot's own ids (used by
 * Bolt's ignoreSelf) come from one auth.test in the background, never in the ack path.
 */
function singleWorkspaceAuthorize(services: Services, client: WebClient, token: string): Authorize<boolean> {
  let identity: { botId?: string; botUserId?: string } = {};
  let lastTry = 0;
  const refresh = () => {
    if (Date.now() - lastTry < 60_000) return;
    lastTry = Date.now();
    void client.auth
      .test({ token })
      .then((r) => {
        identity = { botId: r.bot_id, botUserId: r.user_id };
      })
      .catch((err: unknown) => services.logger.warn({ err: String(err) }, 'slack auth.test failed; will retry on a later request'));
  };
  refresh();
  return async () => {
    if (!identity.botUserId) refresh();
    return { botToken: token, ...identity };
  };
}

export function webClientOptions(services: Services, options: SlackAdapterOptions): webApi.WebClientOptions {
  const retry = options.retry ?? DEFAULT_RETRY;
  return {
    slackApiUrl: slackApiBase(services.config.slack.apiUrl),
    timeout: options.apiTimeoutMs ?? 15_000,
    retryConfig: { retries: retry.attempts - 1, factor: 2, minTimeout: retry.baseDelayMs, maxTimeout: retry.maxDelayMs, randomize: true },
  };
}

/** The Bolt app with storecast's listeners, on whatever receiver (Hono HTTP or Socket Mode). */
export function createSlackApp(services: Services, receiver: Receiver, options: SlackAdapterOptions = {}): App {
  const token = services.config.slack.botToken;
  if (!token) throw new Error('SLACK_BOT_TOKEN is not set');
  const clientOptions = webClientOptions(services, options);
  const logger = boltLogger(services.logger);
  const authClient = new WebClient(undefined, { ...clientOptions, logger, retryConfig: { retries: 0 }, timeout: 5_000 });
  // No conversation store: storecast keeps no per-conversation state, and it costs every request.
  const app = new App({ receiver, logger, clientOptions, convoStore: false, authorize: singleWorkspaceAuthorize(services, authClient, token) });
  registerListeners(app, services, options.retry ?? DEFAULT_RETRY);
  app.error(async (error) => {
    services.metrics.errors.inc({ kind: 'internal' });
    services.logger.error({ err: error }, 'slack listener failed');
  });
  return app;
}

interface Delivery {
  client: WebClient;
  channel: string;
  user: string;
  responseUrl?: string;
  threadTs?: string;
  input: CommandInput;
  /** Upload the table as CSV too. */
  csv: boolean;
  /** Only the CSV (the "CSV" button): no message, no chart. */
  csvOnly?: boolean;
  /** Post in a channel without an audience (the "Share to channel" button). */
  share?: boolean;
  asker: Asker;
  requestId: string;
  /** The conversation is the asker's own DM with storecast (a click on the App Home): private answers are plain messages there. */
  own?: boolean;
}

/** What every listener needs: the services, the retry policy of response_url posts, a logger. */
interface ListenerContext {
  services: Services;
  retry: RetryPolicy;
  log: Logger;
}

type Recipient = Pick<Delivery, 'client' | 'channel' | 'user' | 'responseUrl' | 'threadTs' | 'own'>;

/** To the asker alone: through response_url when there is one (no membership needed). */
async function ephemeral(ctx: ListenerContext, d: Recipient, message: SlackMessage): Promise<void> {
  if (d.own) {
    // An ephemeral message shows only in the client that has the conversation open: from the
    // home tab it would be missed. Nobody else reads this conversation.
    await d.client.chat.postMessage({ channel: d.channel, ...message });
  } else if (d.responseUrl) {
    await postToResponseUrl(d.responseUrl, { response_type: 'ephemeral', replace_original: false, ...message }, ctx.retry, ctx.log);
  } else {
    await d.client.chat.postEphemeral({ channel: d.channel, user: d.user, thread_ts: d.threadTs, ...message });
  }
}

/** How an answer reaches Slack: the shared flow (chat/answer.ts) calls these. */
function slackChannel(ctx: ListenerContext, d: Delivery): AnswerChannel {
  return {
    showPrivately: (reply, commandLine) => ephemeral(ctx, d, replyToMessage(reply, { commandLine })),
    sendCsvOnly: (reply) => uploadCsv(ctx, d, reply),
    showPublicly: (reply, commandLine) => postPublicly(ctx, d, reply, commandLine),
    reportFailure: (text) => ephemeral(ctx, d, plainMessage(text)),
  };
}

async function postPublicly(ctx: ListenerContext, d: Delivery, reply: Reply, commandLine: string): Promise<void> {
  const message = replyToMessage(reply, { commandLine, requestedBy: d.user });
  try {
    await d.client.chat.postMessage({ channel: d.channel, thread_ts: d.threadTs, unfurl_links: false, ...message });
  } catch (err) {
    const code = platformError(err);
    if (!code || !['not_in_channel', 'channel_not_found'].includes(code) || !d.responseUrl) throw err;
    // The bot is not in this channel (or it is a DM): answer through the command's own
    // response_url, which needs no membership, and say how to get the chart too.
    await postToResponseUrl(d.responseUrl, { response_type: 'in_channel', replace_original: false, ...message }, ctx.retry, ctx.log);
    await ephemeral(ctx, d, plainMessage('Invite me to this channel (`/invite @storecast`) to get the chart and CSV files here too.'));
    return;
  }
  // The answer is out; a failing chart or CSV is reported on its own, not as a lost answer.
  const chart = reply.chart;
  if (chart) {
    await attach(ctx, d, 'chart', async () => {
      const png = await ctx.services.renderChart(chart.spec);
      await d.client.files.uploadV2({ ...destination(d), file: png, filename: `${slug(reply.title)}.png`, title: reply.title, alt_text: clip(chart.alt, 1000) });
    });
  }
  if (d.csv) await attach(ctx, d, 'CSV file', () => uploadCsv(ctx, d, reply));
}

async function attach(ctx: ListenerContext, d: Delivery, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    const ref = d.requestId.slice(0, 8);
    ctx.services.metrics.errors.inc({ kind: 'delivery' });
    ctx.log.error({ err, ref, channel: d.channel, input: d.input }, `slack: ${what} upload failed`);
    await ephemeral(ctx, d, plainMessage(`The answer is posted, but I could not attach the ${what} (ref ${ref}). Please try again in a minute.`)).catch((e: unknown) =>
      ctx.log.error({ err: e, ref }, 'slack: could not tell the user about the failed upload either'),
    );
  }
}

async function uploadCsv(ctx: ListenerContext, d: Delivery, reply: Reply): Promise<void> {
  if (!reply.table) {
    await ephemeral(ctx, d, plainMessage('This answer has no table to download.'));
    return;
  }
  await d.client.files.uploadV2({ ...destination(d), content: tableAsCsv(reply.table), filename: reply.table.filename, title: reply.table.filename, snippet_type: 'csv' });
}

interface StartArgs {
  commandName: string;
  text: string;
  ack?: (message?: Record<string, unknown>) => Promise<void>;
  base: Omit<Delivery, 'input' | 'csv' | 'asker' | 'requestId'>;
  workspace?: string;
  csvOnly?: boolean;
  /** Say "Working on ..." in the ack (slash commands); buttons and mentions stay quiet. */
  announce: boolean;
  /** The command line a plain question was read as: the answer starts with it. */
  readAs?: string;
  /** A plain question's reading, as typed options (chat/plain): run instead of parsing `text`. */
  input?: CommandInput;
  /** A direct message: the conversation is the asker's own, so the answer is posted in it. */
  direct?: boolean;
}

/** The common path of commands, buttons and mentions: check, ack, then answer in the background. */
async function start(ctx: ListenerContext, args: StartArgs): Promise<void> {
  const { services } = ctx;
  const { input, csv, share, line } = args.input ? { input: args.input, csv: false, share: false, line: args.readAs ?? `/${args.input.name}` } : slackInput(args.commandName, args.text);
  const problem = precheck(services.registry, input, { platform: 'slack', workspace: args.workspace });
  if (problem) services.metrics.errors.inc({ kind: 'user' });
  // A database known to be away is said in the ack, not after a wait for a query to fail.
  const refusal = problem ? userErrorReply(problem) : services.busy('slack') ? busyReply() : !services.db.health.up ? unavailableReply() : undefined;
  if (refusal && args.readAs) refusal.summary = `Read as \`${args.readAs}\`. ${refusal.summary}`;
  if (refusal) {
    const message = { response_type: 'ephemeral', ...replyToMessage(refusal) };
    if (args.ack) await args.ack(message);
    else await ephemeral(ctx, args.base, message);
    return;
  }
  if (args.ack) await args.ack(args.announce ? { response_type: 'ephemeral', ...plainMessage(`Working on \`${escapeMrkdwn(clip(line, 200))}\`…`) } : undefined);
  // A direct message has no channel audience to check: only the asker reads it.
  const asker: Asker = { platform: 'slack', workspace: args.workspace, channel: args.direct ? undefined : args.base.channel, user: args.base.user, roles: [] };
  const d: Delivery = { ...args.base, input, csv, share, csvOnly: args.csvOnly, asker, requestId: randomUUID().replace(/-/g, '') };
  const run = args.readAs ? runReadAs(services.run, args.readAs) : services.run;
  await services.defer(() => answer({ ...services, run }, d, slackChannel(ctx, d), ctx.log));
}

type ButtonArgs = { ack: () => Promise<void>; body: unknown; action: unknown; client: WebClient };

/** A follow-up button runs its command line (RUN) or sends the table as CSV (CSV). */
function onButton(ctx: ListenerContext, csvOnly: boolean) {
  return async ({ ack, body, action, client }: ButtonArgs) => {
    const b = body as { type?: string; channel?: { id: string }; user: { id: string }; team?: { id: string } | null; response_url?: string; message?: { ts?: string; thread_ts?: string }; container?: { is_ephemeral?: boolean } };
    const a = action as { type?: string; value?: string };
    if (b.type !== 'block_actions' || a.type !== 'button' || !a.value || !b.channel) {
      await ack();
      return;
    }
    const { name, text } = splitCommandLine(a.value);
    await start(ctx, {
      commandName: name,
      text: text ?? '',
      ack: () => ack(),
      base: { client, channel: b.channel.id, user: b.user.id, responseUrl: b.response_url, threadTs: followUpThread(b) },
      workspace: b.team?.id,
      csvOnly,
      announce: false,
    });
  };
}

/**
 * Where a follow-up clicked on a message answers: in that message's thread. A weekly summary
 * (or any answer posted in the channel) keeps its follow-ups under it, so the channel shows one
 * message per summary; a message already in a thread keeps its thread. An ephemeral message
 * has no thread to start: its follow-ups answer as before.
 */
export function followUpThread(b: { channel?: { id: string }; message?: { ts?: string; thread_ts?: string }; container?: { is_ephemeral?: boolean } }): string | undefined {
  if (b.container?.is_ephemeral) return undefined;
  // A direct message is one conversation with the asker: a thread there only hides the answer.
  if (b.channel?.id.startsWith('D') && !b.message?.thread_ts) return undefined;
  return b.message?.thread_ts ?? b.message?.ts;
}

function registerListeners(app: App, services: Services, retry: RetryPolicy): void {
  const ctx: ListenerContext = { services, retry, log: services.logger.child({ platform: 'slack' }) };

  app.command(/^\/[\w-]+$/, async ({ command, ack, client }) => {
    // `/storecast how did store 5 do last week?`: a question, not a command line. Acked at
    // once; it is read (which may query the database) after the ack.
    if (command.command === '/storecast' && !services.registry.has(splitCommandLine(command.text || 'help').name.toLowerCase())) {
      await ack({ response_type: 'ephemeral', ...plainMessage(`Reading \`${escapeMrkdwn(clip(command.text, 200))}\`…`) } as never);
      const m = { client, text: command.text, channel: command.channel_id, user: command.user_id, team: command.team_id, responseUrl: command.response_url };
      await onMessage(ctx, m);
      return;
    }
    await start(ctx, {
      commandName: command.command,
      text: command.text,
      ack: (m) => ack(m as never),
      base: { client, channel: command.channel_id, user: command.user_id, responseUrl: command.response_url },
      workspace: command.team_id,
      announce: true,
    });
  });
  app.action(new RegExp(`^${RUN_ACTION}`), onButton(ctx, false));
  app.action(CSV_ACTION, onButton(ctx, true));
  registerHome(app, ctx);

  // "@storecast forecast store 5" or "@storecast how did store 5 do last week?" in a channel:
  // answered in a thread under the mention.
  app.event('app_mention', async ({ event, context, client }) => {
    if (context.retryNum) return; // acked at once already; a retry would answer twice
    const e = event as { text: string; channel: string; user?: string; ts: string; thread_ts?: string; team?: string };
    if (!e.user) return;
    await onMessage(ctx, { client, text: withoutBot(e.text, context.botUserId), channel: e.channel, user: e.user, threadTs: e.thread_ts ?? e.ts, team: e.team ?? context.teamId });
  });

  // A direct message to the bot (message.im): the same, answered in the conversation.
  app.event('message', async ({ event, context, client }) => {
    if (context.retryNum) return;
    const e = event as { channel_type?: string; subtype?: string; bot_id?: string; text?: string; channel: string; user?: string; thread_ts?: string; team?: string };
    // Only people's own messages: edits, joins and bots (ourselves included) are not questions.
    if (e.channel_type !== 'im' || e.subtype || e.bot_id || !e.user || e.user === context.botUserId) return;
    await onMessage(ctx, { client, text: withoutBot(e.text ?? '', context.botUserId), channel: e.channel, user: e.user, threadTs: e.thread_ts, team: e.team ?? context.teamId, direct: true });
  });
}

/** Only the bot's own mention goes: other mentions are arguments (`@storecast access grant @bob store 5`). */
function withoutBot(text: string, botUserId: string | undefined): string {
  const bot = botUserId ? new RegExp(`<@${botUserId}(\\|[^>]*)?>`, 'g') : /^\s*<@[A-Z0-9]+(\|[^>]*)?>/;
  return text.replace(bot, '').trim() || 'help';
}

interface IncomingMessage {
  client: WebClient;
  text: string;
  channel: string;
  user: string;
  /** A slash command's (`/storecast <question>`): private answers go through it. */
  responseUrl?: string;
  threadTs?: string;
  team?: string;
  direct?: boolean;
}

/**
 * A mention, a direct message or `/storecast <question>`: a command line, or a plain question read as one (chat/plain),
 * then the path every command takes. A question not read as one command gets its two
 * readings as buttons, or examples; in a channel only the asker sees that.
 */
async function onMessage(ctx: ListenerContext, m: IncomingMessage): Promise<void> {
  const { services } = ctx;
  const base = { client: m.client, channel: m.channel, user: m.user, threadTs: m.threadTs, responseUrl: m.responseUrl };
  const u = await understandText(services, m.text, { platform: 'slack', workspace: m.team });
  if (u.kind === 'command' || u.kind === 'read') {
    const read = u.kind === 'read' ? { readAs: u.reading.line, input: u.input } : {};
    await start(ctx, { commandName: u.input.name, text: u.input.text ?? '', base, workspace: m.team, announce: false, direct: m.direct, ...read });
    return;
  }
  const asker: Asker = { platform: 'slack', workspace: m.team, user: m.user, roles: [] };
  const message = replyToMessage(await unreadAnswer(services, u, asker));
  if (m.direct) await m.client.chat.postMessage({ channel: m.channel, thread_ts: m.threadTs, ...message });
  else await ephemeral(ctx, base, message);
}

/** files.uploadV2 takes a thread only when there is one (its types refuse `thread_ts: undefined`). */
function destination(d: { channel: string; threadTs?: string }): { channel_id: string; thread_ts: string } | { channel_id: string } {
  return d.threadTs ? { channel_id: d.channel, thread_ts: d.threadTs } : { channel_id: d.channel };
}

function platformError(err: unknown): string | undefined {
  const e = err as { code?: string; data?: { error?: string } };
  return e?.code === 'slack_webapi_platform_error' ? e.data?.error : undefined;
}

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'chart'
  );
}

/** The App Home is /me, run for the user: the same command, access check and audit row as /me anywhere. */
async function publishHome(ctx: ListenerContext, client: WebClient, user: string, team: string | undefined): Promise<void> {
  const outcome = await ctx.services.run({ name: 'me', text: '' }, { platform: 'slack', workspace: team, user, roles: [] });
  // Past the rate limit the tab keeps what it showed: a "slow down" home helps no one.
  if (outcome.kind === 'limited') return;
  const home = outcome.kind === 'ok' ? homeOf(outcome.reply) : undefined;
  const view = home ? homeView(home) : { type: 'home' as const, blocks: replyToMessage(outcome.reply).blocks };
  await client.views.publish({ user_id: user, view });
}

/**
 * A home button: its command runs as the clicker with every check it has when typed, and the
 * answer goes to their DM with storecast (a home tab shows no answers); then the home is
 * published again, so a stopped subscription leaves it. Only a Stop runs in another channel:
 * the subscription's, where /unsubscribe finds it.
 */
async function onHomeClick(ctx: ListenerContext, client: WebClient, user: string, team: string | undefined, value: { command: string; channel?: string }): Promise<void> {
  const { name, text } = splitCommandLine(value.command);
  const input = { name, text: text ?? '' };
  const opened = await client.conversations.open({ users: user });
  const channel = opened.channel?.id;
  if (!channel) throw new Error('conversations.open gave no channel');
  const asker: Asker = { platform: 'slack', workspace: team, channel: name.toLowerCase() === 'unsubscribe' ? value.channel : undefined, user, roles: [] };
  const d: Delivery = { client, channel, user, input, csv: false, asker, requestId: randomUUID().replace(/-/g, ''), own: true };
  await answer(ctx.services, d, slackChannel(ctx, d), ctx.log);
  await publishHome(ctx, client, user, team);
}

function registerHome(app: App, ctx: ListenerContext): void {
  app.event('app_home_opened', async ({ event, context, client }) => {
    if (context.retryNum) return;
    const e = event as { user: string; tab?: string };
    if (e.tab !== 'home') return; // the Messages tab needs nothing published
    await ctx.services.defer(() => publishHome(ctx, client, e.user, context.teamId));
  });
  app.action(new RegExp(`^${HOME_ACTION}`), async ({ ack, body, action, client }) => {
    await ack();
    const b = body as { user: { id: string; team_id?: string }; team?: { id: string } | null };
    const value = parseHomeValue((action as { value?: string }).value);
    if (!value) return;
    await ctx.services.defer(() => onHomeClick(ctx, client, b.user.id, b.team?.id ?? b.user.team_id, value));
  });
}
