import { describeCondition, listRules, type AlertRule } from '../src/alerts/rules.ts';
import { alertLine } from '../src/alerts/options.ts';
import { auditPrincipal, mostAsked } from '../src/audit/log.ts';
import { defineCommand, type CommandContext } from '../src/chat/command.ts';
import { homeReply, type Home, type HomeAction, type HomeItem } from '../src/chat/home.ts';
import type { Reply } from '../src/chat/reply.ts';
import { describeSchedule } from '../src/delivery/summaries/schedule.ts';
import { copiesOf, listSubscriptions, type Subscription } from '../src/delivery/summaries/subscriptions.ts';
import { recipientKeyOf, stopMyCopyLine, unsubscribeOptions } from '../src/delivery/summaries/chat.ts';
import { commandLine } from '../src/chat/parse.ts';
import { describeScope } from '../src/scope.ts';
import model from './model.ts';

/** Commands that are not questions about the data: never among "your top questions". */
const NOT_QUESTIONS = ['me', 'help', 'console', 'subscribe', 'unsubscribe', 'subscriptions', 'alert', 'alerts', 'access', 'audit', 'campaign'] as const;
/** Store names listed in words before "and N more". */
const STORES_NAMED = 30;

/** The asker's own principal keys (not their Discord roles): what they created is filed under these. */
function ownKeys(ctx: CommandContext): string[] {
  return ctx.access.keys.filter((k) => !k.startsWith('discord-role:'));
}

/** The stores the asker may see, from the one access decision, in words. */
async function storesInWords(ctx: CommandContext): Promise<string> {
  const visible = await ctx.access.stores('viewer');
  if (visible === 'all') {
    const [row] = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM stores');
    const n = Number(row?.n ?? 0);
    return n ? `all ${n} stores` : 'all stores (none imported yet)';
  }
  if (!visible.size) return 'no stores yet (an admin can grant some with /access grant)';
  const rows = await ctx.db.query<{ store_id: number; region: string | null }>('SELECT store_id, region FROM stores WHERE store_id = ANY($1::int[]) ORDER BY store_id', [[...visible]]);
  const region = new Map(rows.map((r) => [r.store_id, r.region]));
  const sorted = [...visible].sort((a, b) => a - b);
  const named = sorted.slice(0, STORES_NAMED).map((s) => (region.get(s) ? `Store ${s} (${region.get(s)})` : `Store ${s}`));
  return named.join(', ') + (sorted.length > STORES_NAMED ? ` and ${sorted.length - STORES_NAMED} more` : '');
}

/**
 * Where a subscription's Stop runs: in chat, from the subscription's own channel (that is where
 * /unsubscribe finds it); a channel of another workspace or platform cannot be stopped from
 * here (undefined). Elsewhere (console, API) /unsubscribe finds it by id.
 */
function stopPlace(s: Subscription, ctx: CommandContext): { channel?: string } | undefined {
  if (ctx.platform !== 'slack' && ctx.platform !== 'discord') return {};
  if (s.target.kind === 'email') return {};
  if (s.target.kind === `${ctx.platform}-channel` && (s.target.workspace ?? '') === (ctx.workspace ?? '') && s.target.channel) return { channel: s.target.channel };
  // A per-recipient one is stopped (for everyone) from the channel it was made in.
  if (s.target.kind === 'recipients' && s.createdBy?.startsWith(`${ctx.platform}:`) && (s.target.workspace ?? '') === (ctx.workspace ?? '') && s.target.channel) return { channel: s.target.channel };
  return undefined;
}

async function subscriptionItems(ctx: CommandContext, keys: readonly string[]): Promise<HomeItem[]> {
  const items: HomeItem[] = [];
  for (const s of await listSubscriptions(ctx.db)) {
    if (!s.createdBy || !keys.includes(s.createdBy) || !(await ctx.access.covers('viewer', s.scope))) continue;
    const place = stopPlace(s, ctx);
    const actions: HomeAction[] =
      place && (await ctx.access.covers('manager', s.scope)) ? [{ label: 'Stop', command: commandLine({ name: 'unsubscribe', options: unsubscribeOptions }, { id: s.id }), danger: true, ...place }] : [];
    const paused = s.pausedAt ? ' · paused' : '';
    items.push({ id: s.id, text: `Weekly summary of ${describeScope(s.scope)}, ${describeSchedule(s.schedule)} -> ${s.target.hint}${paused}`, actions });
  }
  // Copies of per-recipient summaries sent to the asker: each stoppable by them alone, from anywhere.
  const me = recipientKeyOf(ctx);
  if (me) {
    for (const s of await copiesOf(ctx.db, me)) {
      if (items.some((i) => i.id === s.id)) continue;
      items.push({ id: s.id, text: `Your copy: weekly summary of your stores in ${describeScope(s.scope)}, ${describeSchedule(s.schedule)}, by direct message`, copy: true, actions: [{ label: 'Stop my copy', command: stopMyCopyLine(s.id), danger: true }] });
    }
  }
  return items;
}

/** Alert rules the asker created, or that message them directly ("to me"). */
function isMine(r: AlertRule, keys: readonly string[], ctx: CommandContext): boolean {
  if (r.createdBy && keys.includes(r.createdBy)) return true;
  return r.target.kind === `${ctx.platform}-dm` && ctx.user !== undefined && r.target.channel === ctx.user && (r.target.workspace ?? '') === (ctx.workspace ?? '');
}

async function alertItems(ctx: CommandContext, keys: readonly string[]): Promise<HomeItem[]> {
  const items: HomeItem[] = [];
  for (const r of await listRules(ctx.db)) {
    if (!isMine(r, keys, ctx) || !(await ctx.access.covers('viewer', r.scope))) continue;
    const manage = await ctx.access.covers('manager', r.scope);
    const actions: HomeAction[] = manage
      ? [
          { label: 'Snooze a day', command: alertLine({ what: 'snooze', id: r.id, for: 'day' }) },
          { label: 'Stop', command: alertLine({ what: 'delete', id: r.id }), danger: true },
        ]
      : [];
    const state = r.state === 'firing' ? ` · firing since ${r.firingSince?.slice(0, 10) ?? '?'}` : '';
    const snoozed = r.snoozedUntil && new Date(r.snoozedUntil) > ctx.now() ? ` · snoozed until ${r.snoozedUntil.slice(0, 16).replace('T', ' ')} UTC` : '';
    items.push({ id: r.id, text: `${describeScope(r.scope)}: ${describeCondition(r.kind, r.condition)} -> ${r.target.hint}${state}${snoozed}${r.pausedAt ? ' · paused' : ''}`, firing: r.state === 'firing', actions });
  }
  // Firing ones first: they are what a stop or snooze is most often for.
  return items.sort((a, b) => Number(Boolean(b.firing)) - Number(Boolean(a.firing)));
}

/** The active model's live accuracy over the stores the asker may see: what /model says to them. */
async function modelLine(ctx: CommandContext): Promise<Home['model']> {
  const reach = await ctx.access.narrow({ kind: 'chain' });
  if (reach.kind === 'stores' && reach.stores.length === 0) return { title: 'Model', summary: 'Live accuracy shows here once you may see a store.' };
  const status = await model.handler({ action: 'status', version: undefined }, { ...ctx, reach });
  return { title: status.title, summary: status.summary };
}

export default defineCommand({
  name: 'me',
  description: 'Your home: the stores you see, your subscriptions and alerts (stop, snooze), model accuracy, your top questions.',
  options: [],
  examples: ['/me'],
  answersPrivately: true,
  async handler(_options, ctx): Promise<Reply> {
    const keys = ownKeys(ctx);
    const principal = auditPrincipal({ ...ctx, tokenId: keys.find((k) => k.startsWith('token:'))?.slice('token:'.length) });
    const [stores, subscriptions, alerts, modelSummary, questions] = await Promise.all([
      storesInWords(ctx),
      keys.length ? subscriptionItems(ctx, keys) : [],
      keys.length ? alertItems(ctx, keys) : [],
      modelLine(ctx),
      // The console without a session is everyone who reaches it: no one's questions to show.
      principal === 'anonymous' ? [] : mostAsked(ctx.db, principal, { limit: 3, except: NOT_QUESTIONS }),
    ]);
    return homeReply({ title: 'Your storecast home', who: ctx.access.describe(), stores, subscriptions, alerts, model: modelSummary, questions });
  },
});
