import type { Database } from '../db/client.ts';
import { UserError } from '../chat/errors.ts';
import { addWeeks, fridayOnOrAfter } from '../data/weeks.ts';
import { completeStores, diffInDiff, matchControls, type DidResult, type StoreSeries } from '../analytics/did.ts';
import { loadSegments } from '../analytics/segments.ts';
import { dataWindow } from '../analytics/series.ts';

/** Weeks before the campaign the groups are compared on (fewer when the data starts later). */
export const PRE_WEEKS = 26;
const MIN_PRE_WEEKS = 8;
/** Weeks after the campaign drawn on the chart (not part of the estimate). */
const AFTER_WEEKS = 8;

/**
 * The words an impact answer uses, in its replies, refusals and chart: a recorded campaign
 * (/campaign-impact), or an ad-hoc test of some stores over some weeks (/compare).
 */
export const IMPACT_WORDS = {
  campaign: { noun: 'campaign', window: 'campaign', weeks: 'Campaign weeks', band: 'Campaign', stores: 'Campaign stores', theStores: "the campaign's stores", phase: 'campaign', column: 'campaign_index' },
  comparison: { noun: 'comparison', window: 'test window', weeks: 'Test window', band: 'Test window', stores: 'Tested stores', theStores: 'the tested stores', phase: 'test', column: 'tested_index' },
} as const;
export type ImpactKind = keyof typeof IMPACT_WORDS;

export interface ImpactRequest {
  /** What is measured, for the words of refusals (default: a campaign). */
  kind?: ImpactKind;
  treated: readonly number[];
  /** Given controls; none: matched from `pool`. */
  controls?: readonly number[] | null;
  start: string;
  end: string;
  /** Stores automatic controls may come from: the ones the asker may see, minus busy ones. */
  pool: readonly number[];
  seed?: number;
}

export interface ImpactAnswer {
  did: DidResult;
  treated: number[];
  controls: { store: number; sameSegment?: boolean }[];
  /** Whether the controls were matched automatically. */
  matched: boolean;
  /** Stores left out for missing weeks. */
  dropped: number[];
  window: string[];
  pre: string[];
  /** How many stores automatic matching chose from. */
  poolSize: number;
  /** The window was cut at the end of the data. */
  truncated: boolean;
}

function fridays(from: string, to: string): string[] {
  const out: string[] = [];
  for (let w = from; w <= to; w = addWeeks(w, 1)) out.push(w);
  return out;
}

/** Weekly sales of `stores` from `from` to `to`, from the store-week totals. */
async function storeSeries(db: Database, stores: readonly number[], from: string, to: string): Promise<StoreSeries> {
  const rows = await db.query<{ store_id: number; week: string; sales: number }>(
    'SELECT store_id, week::text AS week, sales FROM store_week_sales WHERE store_id = ANY($1::int[]) AND week BETWEEN $2::date AND $3::date',
    [stores, from, to],
  );
  const series = new Map<number, Map<string, number>>();
  for (const r of rows) {
    let s = series.get(r.store_id);
    if (!s) series.set(r.store_id, (s = new Map()));
    s.set(r.week, r.sales);
  }
  return series;
}

/** The campaign's weeks (every sales week overlapping its dates), the pre-period and the weeks after. */
async function periods(db: Database, start: string, end: string, kind: ImpactKind) {
  const words = IMPACT_WORDS[kind];
  const data = await dataWindow(db);
  if (!data) throw new UserError('No sales data is loaded yet.', { code: 'NO_DATA' });
  const first = fridayOnOrAfter(start);
  const last = fridayOnOrAfter(end);
  if (first > data.lastWeek) throw new UserError(`The ${words.window} starts after the data ends (${data.lastWeek}): nothing to measure yet.`);
  const window = fridays(first, last < data.lastWeek ? last : data.lastWeek);
  const preStart = addWeeks(first, -PRE_WEEKS) < data.firstWeek ? data.firstWeek : addWeeks(first, -PRE_WEEKS);
  const pre = fridays(preStart, addWeeks(first, -1));
  if (pre.length < MIN_PRE_WEEKS) throw new UserError(`A ${words.noun} needs at least ${MIN_PRE_WEEKS} weeks of data before it to compare with; the data starts ${data.firstWeek}.`);
  const afterEnd = addWeeks(window.at(-1)!, AFTER_WEEKS) < data.lastWeek ? addWeeks(window.at(-1)!, AFTER_WEEKS) : data.lastWeek;
  const after = fridays(addWeeks(window.at(-1)!, 1), afterEnd);
  return { window, pre, after, truncated: last > data.lastWeek };
}

/**
 * Difference-in-differences of treated stores against given or matched control stores
 * (src/analytics/did.ts). Automatic controls come only from `pool`, so an asker is never
 * compared with stores they may not see.
 */
export async function measureImpact(db: Database, req: ImpactRequest): Promise<ImpactAnswer> {
  const kind = req.kind ?? 'campaign';
  const { window, pre, after, truncated } = await periods(db, req.start, req.end, kind);
  const given = req.controls?.length ? [...req.controls] : undefined;
  const everyone = [...new Set([...req.treated, ...(given ?? req.pool)])];
  const series = await storeSeries(db, everyone, pre[0]!, after.at(-1) ?? window.at(-1)!);
  const estimateWeeks = [...pre, ...window];
  const treated = completeStores(series, req.treated, estimateWeeks);
  const dropped = req.treated.filter((s) => !treated.includes(s));
  if (treated.length === 0) throw new UserError(`None of ${IMPACT_WORDS[kind].theStores} has sales in every week from ${pre[0]} to ${window.at(-1)}.`);
  let controls: ImpactAnswer['controls'];
  let poolSize = 0;
  if (given) {
    const complete = completeStores(series, given, estimateWeeks);
    dropped.push(...given.filter((s) => !complete.includes(s)));
    controls = complete.map((store) => ({ store }));
  } else {
    const candidates = completeStores(series, req.pool.filter((s) => !req.treated.includes(s)), estimateWeeks);
    poolSize = candidates.length;
    const segments = new Map((await loadSegments(db)).map((s) => [s.store, s.segment]));
    // Twice the treated stores, 5 to 10, but at most 60% of the pool: matching needs room to choose.
    const count = Math.min(Math.max(2, Math.floor(0.6 * candidates.length)), Math.max(5, Math.min(10, 2 * treated.length)));
    controls = matchControls(series, treated, candidates, pre, segments, count).map(({ store, sameSegment }) => ({ store, sameSegment }));
  }
  if (controls.length < 2) {
    throw new UserError(given ? 'Fewer than two of the control stores have sales in every week of the comparison.' : `Too few other stores to compare with (${poolSize} with complete data among the stores you may see).`);
  }
  const did = diffInDiff(series, treated, controls.map((c) => c.store), { window, pre, after, seed: req.seed });
  return { did, treated, controls, matched: !given, dropped, window, pre, poolSize, truncated };
}
