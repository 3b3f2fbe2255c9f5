import type { CommandContext, OptionDef, OptionsOf } from '../../chat/command.ts';
import { principalKeys } from '../../access/principal.ts';
import { AccessDenied } from '../../chat/access.ts';
import { UserError } from '../../chat/errors.ts';
import { commandLine } from '../../chat/parse.ts';
import type { Reply } from '../../chat/reply.ts';
import { WEEKDAYS } from '../../data/weeks.ts';
import { describeSchedule, localDate, parseTime } from './schedule.ts';
import { createSubscription, deleteSubscription, getSubscriptionRow, listSubscriptions, optOut, resolveSchedule, rowScope, toSubscription, type RecipientRole, type Subscription } from './subscriptions.ts';
import type { WeeklySchedule } from './schedule.ts';
import { describeScope, type AreaScope } from '../../scope.ts';
import { FIELD_RANGES } from '../../data/limits.ts';
import { deliveryCheck, refuseUrlInChat } from '../targets.ts';

/*
 * The options of /subscribe and /unsubscribe (the files in commands/) are defined here, next to
 * their handlers, so that each handler's options are typed from the definitions it reads.
 */
const WEEKDAY_CHOICES = WEEKDAYS.map((d) => d.toLowerCase());

/** What a summary covers; /subscribe and /unsubscribe share them. */
const scopeOptions = [
  { name: 'summary', type: 'choice', choices: ['weekly-summary'], default: 'weekly-summary', description: 'What to post (weekly-summary)' },
  { name: 'store', type: 'integer', ...FIELD_RANGES.store, positional: true, autocomplete: 'store', description: 'A store number' },
  { name: 'region', type: 'string', description: 'A region name, e.g. West' },
  { name: 'scope', type: 'choice', choices: ['chain'], description: 'chain: all stores' },
] as const satisfies readonly OptionDef[];

/** When /subscribe posts. */
const scheduleOptions = [
  { name: 'every', type: 'choice', choices: WEEKDAY_CHOICES, aliases: ['on'], description: 'Weekday to post on (default monday)' },
  { name: 'at', type: 'string', aliases: ['time'], pattern: /^\d{1,2}(:\d{2})?\s*(am|pm)?$/i, description: 'Local time, 24-hour HH:MM (default 08:00)' },
  { name: 'tz', type: 'string', aliases: ['timezone'], description: 'IANA time zone, e.g. America/Chicago (default UTC)' },
  { name: 'email', type: 'string', aliases: ['mail'], description: 'Send it by email to this address instead of the channel (admins)' },
  { name: 'each', type: 'choice', choices: ['manager', 'viewer'], description: 'each manager (viewer): a DM to each, of their own stores, instead of the channel' },
] as const satisfies readonly OptionDef[];

/** /unsubscribe by id instead of by what the summary covers; `only me`: the asker's own copy of a per-recipient one. */
const idOptions = [
  { name: 'id', type: 'string', description: 'Subscription id, e.g. sub_1a2b3c4d5e6f (see /subscriptions)' },
  { name: 'only', type: 'choice', choices: ['me'], description: 'only me: stop your own copy of a summary sent to each manager' },
] as const satisfies readonly OptionDef[];

export const subscribeOptions = [...scopeOptions, ...scheduleOptions] as const;
export const unsubscribeOptions = [...scopeOptions, ...idOptions] as const;

/** The follow-up that undoes a subscription. (Importing commands/unsubscribe.ts here would be a cycle.) */
const unsubscribeLine = (id: string) => commandLine({ name: 'unsubscribe', options: unsubscribeOptions }, { id });

/** The "Stop my copy" button of a per-recipient summary: runs as the clicker, stops their copy alone. */
export const stopMyCopyLine = (id: string) => commandLine({ name: 'unsubscribe', options: unsubscribeOptions }, { id, only: 'me' });

export function scopeFrom(options: OptionsOf<typeof scopeOptions>, required: boolean): AreaScope | undefined {
  const given = [options.store !== undefined, options.region !== undefined, options.scope === 'chain'].filter(Boolean).length;
  if (given > 1) throw new UserError('Give one of: store N, region NAME, or chain.');
  if (options.store !== undefined) return { kind: 'store', store: options.store };
  if (options.region !== undefined) return { kind: 'region', region: options.region };
  if (options.scope === 'chain') return { kind: 'chain' };
  if (required) throw new UserError('Say what to summarise: store N, region NAME, or chain.');
  return undefined;
}

export function chatTarget(ctx: CommandContext): { platform: 'slack' | 'discord'; workspace?: string; channel: string } {
  if ((ctx.platform !== 'slack' && ctx.platform !== 'discord') || !ctx.channel) {
    throw new UserError(
      'Subscribe from a Slack or Discord channel (the summary is posted there). Integrations subscribe a webhook URL with POST /api/v1/subscriptions or `storecast subscriptions create --url ...`.',
      { code: 'NOT_A_CHANNEL' },
    );
  }
  return { platform: ctx.platform, workspace: ctx.workspace, channel: ctx.channel };
}

function sameScope(a: AreaScope, b: AreaScope): boolean {
  return describeScope(a).toLowerCase() === describeScope(b).toLowerCase();
}

/** The same summary to the same place: the channel's own, or each manager's (viewer's) of it. */
const sameSubscription = (s: Subscription, scope: AreaScope, each: RecipientRole | undefined) => sameScope(s.scope, scope) && s.recipients === each;

function subscriptionFacts(s: Subscription) {
  return [
    { label: 'Id', value: s.id },
    { label: 'Schedule', value: describeSchedule(s.schedule) },
    { label: 'Next post', value: `${localDate(new Date(s.nextRunAt), s.schedule.timezone)} ${s.schedule.time} ${s.schedule.timezone}` },
  ];
}

function base(title: string, summary: string, data: Record<string, unknown>): Reply {
  return { title, summary, facts: [], actions: [], visibility: 'channel', context: {}, data };
}

export async function subscribeHandler(options: OptionsOf<typeof subscribeOptions>, ctx: CommandContext): Promise<Reply> {
  const scope = scopeFrom(options, true)!;
  if (options.email !== undefined) return subscribeEmail(options, scope, ctx);
  const target = chatTarget(ctx);
  const at = options.at === undefined ? undefined : parseTime(options.at);
  if (options.at !== undefined && at === undefined) throw new UserError(`at: "${options.at}" is not a time; use 24-hour HH:MM such as 08:00 (or 8am).`);
  const schedule = resolveSchedule({
    weekday: options.every === undefined ? undefined : WEEKDAY_CHOICES.indexOf(options.every),
    time: at,
    tz: options.tz,
  });
  const existing = (await listSubscriptions(ctx.db, { workspace: target.workspace, channel: target.channel })).find((s) => sameSubscription(s, scope, options.each));
  if (existing) {
    const who = options.each ? `Each ${options.each} of ${describeScope(scope)} already gets their copy from this channel's` : 'This channel already gets the';
    throw new UserError(`${who} weekly summary of ${describeScope(scope)} (${existing.id}, ${describeSchedule(existing.schedule)}). Unsubscribe first to change it.`, {
      code: 'DUPLICATE',
      suggestion: unsubscribeLine(existing.id),
    });
  }
  if (options.each) return subscribeEach(options.each, scope, schedule, target, ctx);
  const { subscription } = await createSubscription(ctx.db, undefined, {
    scope,
    target: { kind: 'channel', ...target },
    schedule,
    // The creator's principal key: deliveries re-check its access at send time.
    createdBy: principalKeys(ctx)[0],
    createdByRoles: ctx.roles,
    now: ctx.now(),
    delivery: deliveryCheck(ctx),
  }, ctx.outbound);
  return {
    ...base(
      `Subscribed: weekly summary of ${describeScope(scope)}`,
      `This channel will get the weekly summary of ${describeScope(scope)} ${describeSchedule(schedule)}: last week vs last year and forecast, the biggest movers, and the next 4 weeks' forecast with a chart.`,
      { subscription },
    ),
    facts: subscriptionFacts(subscription),
    actions: [{ label: 'Unsubscribe', command: unsubscribeLine(subscription.id) }],
  };
}

/**
 * One subscription, one answer per recipient: each holder of the role on a store of the scope
 * gets, by direct message, the summary of their own stores of it, resolved from the grants at
 * every run (src/delivery/summaries/recipients.ts). Listed and stopped from this channel.
 */
async function subscribeEach(each: RecipientRole, scope: AreaScope, schedule: WeeklySchedule, target: ReturnType<typeof chatTarget>, ctx: CommandContext): Promise<Reply> {
  const { subscription } = await createSubscription(
    ctx.db,
    undefined,
    { scope, target: { kind: 'recipients', role: each, workspace: target.workspace, channel: target.channel }, schedule, createdBy: principalKeys(ctx)[0], createdByRoles: ctx.roles, now: ctx.now(), delivery: deliveryCheck(ctx) },
    ctx.outbound,
  );
  return {
    ...base(
      `Subscribed: weekly summary of ${describeScope(scope)}, to each ${each}`,
      `Each ${each} of a store in ${describeScope(scope)} will get a direct message ${describeSchedule(schedule)} with the weekly summary of their own stores only. Who they are is read from the grants at every run (a Discord role: its members); each can stop their own copy from the message.`,
      { subscription },
    ),
    facts: subscriptionFacts(subscription),
    actions: [{ label: 'Unsubscribe everyone', command: unsubscribeLine(subscription.id) }],
  };
}

/**
 * The asker as a recipient of per-recipient summaries: a Slack or Discord user, or a console
 * session signed in as one (its user is that principal key). Undefined for anyone else.
 */
export function recipientKeyOf(ctx: Pick<CommandContext, 'platform' | 'workspace' | 'user'>): string | undefined {
  if ((ctx.platform === 'slack' || ctx.platform === 'discord') && ctx.user) return `${ctx.platform}:${ctx.workspace ?? ''}/${ctx.user}`;
  return ctx.platform === 'web' && ctx.user && /^(slack|discord):[^/]*\/.+$/.test(ctx.user) ? ctx.user : undefined;
}

/** The asker's own copy of a per-recipient subscription, stopped (the others go on). */
async function stopMyCopy(id: string | undefined, ctx: CommandContext): Promise<Reply> {
  if (!id) throw new UserError('Say which subscription: /unsubscribe id sub_1a2b3c4d5e6f only me (the id is on the summary you get).');
  const row = await getSubscriptionRow(ctx.db, id);
  if (!row || row.deleted_at || row.target_kind !== 'recipients') throw new UserError(`No per-recipient subscription ${id}: "only me" stops your own copy of a summary sent to each manager or viewer.`, { code: 'NOT_FOUND' });
  const me = recipientKeyOf(ctx);
  if (!me) throw new UserError('Stop your copy from Slack or Discord, where it is sent to you (the button on the summary), or from the console signed in as yourself (/console).', { code: 'NOT_A_CHANNEL' });
  const fresh = await optOut(ctx.db, row.id, me);
  const what = `the weekly summary of ${describeScope(rowScope(row))} (${row.id})`;
  return { ...base(fresh ? 'Your copy is stopped' : 'Your copy was stopped already', `You will no longer get ${what}. Everyone else still gets theirs.`, { stopped: row.id }), visibility: 'ephemeral' };
}

/**
 * A weekly summary by email. storecast does not know chat users' addresses, so it cannot tell
 * "to yourself" from anyone else's: any address needs the admin role for the scope.
 */
async function subscribeEmail(options: OptionsOf<typeof subscribeOptions>, scope: AreaScope, ctx: CommandContext): Promise<Reply> {
  refuseUrlInChat(options.email!, { api: '/api/v1/subscriptions', cli: 'storecast subscriptions create' });
  if (!(await ctx.access.covers('admin', scope))) {
    throw new UserError(`Emailing a summary to an address needs the admin role for ${describeScope(scope)}: storecast cannot check that an address is yours. Ask an admin, or subscribe this channel (leave out email).`, { code: 'DENIED' });
  }
  const at = options.at === undefined ? undefined : parseTime(options.at);
  const schedule = resolveSchedule({ weekday: options.every === undefined ? undefined : WEEKDAY_CHOICES.indexOf(options.every), time: at, tz: options.tz });
  const { subscription } = await createSubscription(ctx.db, undefined, { scope, target: { kind: 'email', address: options.email! }, schedule, createdBy: principalKeys(ctx)[0], createdByRoles: ctx.roles, now: ctx.now(), delivery: deliveryCheck(ctx) }, ctx.outbound);
  return {
    ...base(`Subscribed: weekly summary of ${describeScope(scope)} by email`, `${subscription.target.hint} will get the weekly summary of ${describeScope(scope)} ${describeSchedule(schedule)}, with the chart inline and the table as CSV.`, { subscription }),
    facts: subscriptionFacts(subscription),
    actions: [{ label: 'Unsubscribe', command: unsubscribeLine(subscription.id) }],
  };
}

/**
 * The subscriptions a command may list or remove: a channel's own (what it receives anyway);
 * outside a channel (console, API token) those of every channel whose data the asker holds
 * `role` for, as GET /api/v1/subscriptions lists them.
 */
async function reachableSubscriptions(ctx: CommandContext, role: 'viewer' | 'manager') {
  const inChannel = ctx.platform === 'slack' || ctx.platform === 'discord';
  const listed = await listSubscriptions(ctx.db, inChannel ? { workspace: ctx.workspace, channel: ctx.channel ?? '' } : {});
  if (inChannel) return listed;
  const out = [];
  for (const sub of listed) if (await ctx.access.covers(role, sub.scope)) out.push(sub);
  return out;
}

export async function unsubscribeHandler(options: OptionsOf<typeof unsubscribeOptions>, ctx: CommandContext): Promise<Reply> {
  const { id } = options;
  if (options.only === 'me') return stopMyCopy(id, ctx);
  const scope = scopeFrom(options, id === undefined);
  const inChannel = ctx.platform === 'slack' || ctx.platform === 'discord';
  const mine = await reachableSubscriptions(ctx, 'manager');
  const matches = mine.filter((s) => (id ? s.id === id : sameScope(s.scope, scope!)));
  // By id as by scope: removing one needs the manager role for what it summarises. (By scope the
  // access check ran before the handler; an id names no scope until it is looked up.)
  for (const s of matches) {
    if (!(await ctx.access.covers('manager', s.scope))) {
      throw new AccessDenied(`Removing ${s.id} (the weekly summary of ${describeScope(s.scope)}) needs the manager role for ${describeScope(s.scope)}; you are ${ctx.access.describe()}.`, s.scope);
    }
  }
  // An email summary belongs to no channel: by id, for an admin of its scope.
  if (!matches.length && id) {
    const row = await getSubscriptionRow(ctx.db, id);
    if (row && !row.deleted_at && row.target_kind === 'email' && (await ctx.access.covers('admin', rowScope(row)))) matches.push(toSubscription(row));
  }
  if (!matches.length) {
    throw new UserError(
      `${id ? `No subscription ${id}` : `No weekly summary of ${describeScope(scope!)}`} ${inChannel ? 'in this channel' : ''}.`.replace(' .', '.') +
        (mine.length ? ` ${inChannel ? 'This channel has' : 'There are'}: ${mine.map((s) => `${s.id} (${describeScope(s.scope)})`).join(', ')}.` : ''),
      { code: 'NOT_FOUND' },
    );
  }
  for (const s of matches) await deleteSubscription(ctx.db, s.id);
  return base(
    'Unsubscribed',
    `Removed ${matches.map((s) => `the weekly summary of ${describeScope(s.scope)} (${s.id})`).join(', ')}.`,
    { removed: matches.map((s) => s.id) },
  );
}

export async function listHandler(_options: OptionsOf<[]>, ctx: CommandContext): Promise<Reply> {
  const inChannel = ctx.platform === 'slack' || ctx.platform === 'discord';
  const subs = await reachableSubscriptions(ctx, 'viewer');
  const where = inChannel ? 'this channel' : 'all channels and integrations';
  return {
    ...base(
      `Subscriptions (${where})`,
      subs.length ? `${subs.length} weekly summar${subs.length === 1 ? 'y' : 'ies'}.` : `No subscriptions in ${where}. Try /subscribe weekly-summary store 5 every monday at 08:00.`,
      { subscriptions: subs },
    ),
    visibility: 'ephemeral',
    table: subs.length
      ? {
          columns: ['id', 'scope', 'schedule', 'target', 'next_run_at'],
          rows: subs.map((s) => [s.id, describeScope(s.scope), describeSchedule(s.schedule), `${s.target.kind} ${s.target.hint}`, s.nextRunAt]),
          filename: 'subscriptions.csv',
        }
      : undefined,
  };
}
