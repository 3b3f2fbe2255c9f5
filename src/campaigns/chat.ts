import { campaignImpactChart } from '../../charts/index.ts';
import { AccessDenied } from '../chat/access.ts';
import type { CommandContext } from '../chat/command.ts';
import { money, percent } from '../chat/format.ts';
import type { Reply } from '../chat/reply.ts';
import { IMPACT_WORDS, type ImpactAnswer, type ImpactKind } from './impact.ts';
import { busyStores, listCampaigns, type Campaign } from './campaigns.ts';

/**
 * What the campaign commands share: the stores an asker may see (automatic controls come only
 * from them), the refusal when a compared store is not visible, and the impact reply.
 */
export async function visibleStores(ctx: Pick<CommandContext, 'access' | 'db'>): Promise<{ stores: number[]; all: boolean }> {
  const visible = await ctx.access.stores('viewer');
  if (visible !== 'all') return { stores: [...visible].sort((a, b) => a - b), all: false };
  const rows = await ctx.db.query<{ store_id: number }>('SELECT store_id FROM stores ORDER BY store_id');
  return { stores: rows.map((r) => r.store_id), all: true };
}

/**
 * The campaigns whose stores and controls the asker may all see, and how many there are in all.
 * The others are not named anywhere (a name or a store list would reveal them).
 */
export async function visibleCampaigns(ctx: Pick<CommandContext, 'access' | 'db'>, visible: { stores: readonly number[]; all: boolean }): Promise<{ mine: Campaign[]; total: number }> {
  const all = await listCampaigns(ctx.db);
  const mine = all.filter((c) => visible.all || [...c.stores, ...(c.controls ?? [])].every((s) => visible.stores.includes(s)));
  return { mine, total: all.length };
}

/**
 * The stores automatic controls may come from, for /campaign-impact and /compare alike: the
 * visible ones less those in a campaign overlapping the window (its own effect would count as
 * the controls'). `except`: the campaign being judged. `note` says where the controls came from.
 */
export async function controlPool(
  ctx: Pick<CommandContext, 'db'>,
  visible: { stores: readonly number[]; all: boolean },
  window: { start: string; end: string; except?: string },
): Promise<{ stores: number[]; note: (poolSize: number) => string }> {
  const busy = await busyStores(ctx.db, window.start, window.end, window.except);
  return {
    stores: visible.stores.filter((s) => !busy.has(s)),
    note: (poolSize) => `${visible.all ? 'all' : 'the'} ${poolSize} stores ${visible.all ? 'with complete data' : 'you may see'}${busy.size ? ', none in an overlapping campaign' : ''}`,
  };
}

/** Refuses unless every store compared is one the asker may see (the answer would reveal it). */
export function requireVisible(ctx: Pick<CommandContext, 'access'>, visible: { stores: readonly number[]; all: boolean }, stores: readonly number[], what: string): void {
  if (visible.all) return;
  const hidden = stores.filter((s) => !visible.stores.includes(s));
  if (hidden.length === 0) return;
  const mine = ctx.access.describe();
  throw new AccessDenied(
    `${what} compares store${hidden.length > 1 ? 's' : ''} ${hidden.slice(0, 10).join(', ')}, which you cannot see. You are ${mine}; an admin can grant more with /access grant.`,
    { kind: 'stores', stores: hidden, asked: { kind: 'chain' } },
  );
}

const list = (stores: readonly number[]) => (stores.length > 12 ? `${stores.slice(0, 12).join(', ')}, … (${stores.length})` : stores.join(', '));

/** The plain verdict: a lift, a drop, or "not distinguishable from zero". */
export function impactVerdict(a: ImpactAnswer): string {
  const { did } = a;
  const range = `${percent(did.lift)} (95%: ${percent(did.lower)} to ${percent(did.upper)})`;
  if (did.lower <= 0 && did.upper >= 0) return `Sales moved ${range} against the controls: not distinguishable from zero.`;
  return `Sales ${did.lift > 0 ? 'rose' : 'fell'} ${range} against the controls: about ${money(Math.abs(did.dollars))} ${did.lift > 0 ? 'added' : 'lost'} over ${a.window.length} weeks.`;
}

/** The reply of /campaign-impact and /compare (`kind` picks the words): verdict, lift, check, chart, table. */
export function impactReply(a: ImpactAnswer, o: { kind: ImpactKind; title: string; dataThrough: string; visibleAll: boolean; poolNote: string; data: Record<string, unknown>; filename: string }): Reply {
  const { did } = a;
  const words = IMPACT_WORDS[o.kind];
  const controlsNote = a.matched
    ? `Controls matched by segment and pre-period trajectory from ${o.poolNote}: ${list(a.controls.map((c) => c.store))}.`
    : `Controls as given: ${list(a.controls.map((c) => c.store))}.`;
  const trend = did.preTrend;
  const check = trend.parallel
    ? `Pre-period check passed: the groups moved in parallel over ${a.pre.length} weeks (drift ${percent(trend.drift)}).`
    : `Pre-period check failed: the groups drifted ${percent(trend.drift)} apart over ${a.pre.length} weeks before the ${words.window}, so read the lift with care.`;
  return {
    title: o.title,
    summary: `${impactVerdict(a)} ${check}`,
    facts: [
      { label: 'Lift', value: `${percent(did.lift)} (95%: ${percent(did.lower)} to ${percent(did.upper)})` },
      { label: 'Sales added', value: `${money(did.dollars)} (95%: ${money(did.dollarsLower)} to ${money(did.dollarsUpper)})` },
      { label: words.weeks, value: `${a.window[0]} to ${a.window.at(-1)} (${a.window.length} weeks${a.truncated ? ', cut at the end of the data' : ''})` },
      { label: 'Stores', value: `${list(a.treated)}${a.dropped.length ? ` (left out for missing weeks: ${list(a.dropped)})` : ''}` },
      { label: 'Controls', value: controlsNote },
      { label: 'Parallel trends', value: trend.parallel ? `yes (drift ${percent(trend.drift)} over ${a.pre.length} weeks)` : `no (drift ${percent(trend.drift)} over ${a.pre.length} weeks)` },
    ],
    chart: {
      spec: campaignImpactChart({
        title: `${o.title} · ${words.stores.toLowerCase()} vs control stores`,
        subtitle: `Weekly sales indexed to the ${a.pre.length} weeks before (= 100) · lift ${percent(did.lift)} (95%: ${percent(did.lower)} to ${percent(did.upper)})`,
        weeks: did.weeks,
        treatedLabel: `${words.stores} (${a.treated.length})`,
        bandLabel: words.band,
        controlLabel: `Control stores (${a.controls.length})`,
      }),
      alt: `Line chart of ${words.stores.toLowerCase()} vs control stores indexed to the pre-period, ${words.weeks.toLowerCase()} shaded; lift ${percent(did.lift)}.`,
    },
    table: {
      columns: ['week', 'phase', words.column, 'control_index'],
      rows: did.weeks.map((w) => [w.week, w.phase === 'campaign' ? words.phase : w.phase, Math.round(w.treated * 100) / 100, Math.round(w.control * 100) / 100]),
      filename: o.filename,
    },
    actions: [],
    visibility: 'channel',
    context: {
      dataThrough: o.dataThrough,
      notes: [`difference-in-differences on log sales; 95% interval from ${did.resamples} bootstrap resamples of stores`, ...(a.matched && !o.visibleAll ? ['controls drawn only from the stores you may see'] : [])],
    },
    data: { ...o.data, ...a, did: { ...did } },
  };
}
