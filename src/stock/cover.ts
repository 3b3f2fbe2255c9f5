import { addWeeks } from '../data/weeks.ts';

/**
 * Stock cover, pure: on-hand stock (plus an order when it arrives) consumed week by week by
 * the forecast demand, at the median and at the p90. Values are at retail, like sales, so a
 * dollar of stock covers a dollar of forecast sales.
 */

/** Weeks of demand forecast kept per series, and so the longest cover we can state. */
export const COVER_HORIZON = 26;
/** The lead time assumed when a snapshot gives none. */
export const DEFAULT_LEAD_TIME_WEEKS = 2;
/** A reorder covers the lead time plus one review period (a week) at the p90 demand. */
export const REVIEW_PERIOD_WEEKS = 1;

export interface StockPosition {
  asOf: string;
  onHand: number;
  onOrder: number | null;
  onOrderDate: string | null;
  leadTimeWeeks: number | null;
}

export interface Demand {
  /** The first forecast week (a Friday); week i is addWeeks(firstWeek, i). */
  firstWeek: string;
  p10: readonly number[];
  p50: readonly number[];
  p90: readonly number[];
}

/** What cover reads of a demand forecast: p10 only draws the slow band of the projection. */
export type CoverDemand = Pick<Demand, 'firstWeek' | 'p50' | 'p90'>;

export interface CoverAt {
  /** Weeks until stock runs out, fractional; null when it lasts past the horizon. */
  weeks: number | null;
  /** The week (Friday) in which it runs out; null when it lasts past the horizon. */
  runOutWeek: string | null;
}

export interface Cover {
  median: CoverAt;
  p90: CoverAt;
  leadTimeWeeks: number;
  /** Stock to order now so it covers lead time + a review period at p90 demand (0: none needed). */
  reorder: number;
  /** Weeks of demand the forecast holds after the count: cover beyond it is "more than" this. */
  horizonWeeks: number;
}

/** Forecast weeks by first week and index, computed once: cover runs over thousands of series sharing a few first weeks. */
const weekLists = new Map<string, string[]>();
function weekAt(firstWeek: string, i: number): string {
  let list = weekLists.get(firstWeek);
  if (!list) {
    if (weekLists.size > 1000) weekLists.clear();
    list = Array.from({ length: COVER_HORIZON * 2 }, (_, k) => addWeeks(firstWeek, k));
    weekLists.set(firstWeek, list);
  }
  return list[i] ?? addWeeks(firstWeek, i);
}

/** The forecast weeks that end after the count (a count on a Friday has that week's sales in it). */
function weeksAfter(demand: CoverDemand, asOf: string): number {
  let i = 0;
  while (i < demand.p50.length && weekAt(demand.firstWeek, i) <= asOf) i++;
  return i;
}

function consume(position: StockPosition, demand: CoverDemand, values: readonly number[], start: number): CoverAt {
  let stock = position.onHand;
  let orderPending = (position.onOrder ?? 0) > 0 && position.onOrderDate !== null;
  for (let i = start; i < values.length; i++) {
    const week = weekAt(demand.firstWeek, i);
    // The order is on the shelf for the week it arrives in.
    if (orderPending && position.onOrderDate! <= week) {
      stock += position.onOrder!;
      orderPending = false;
    }
    // Returns do not refill shelves: a negative forecast week consumes nothing.
    const use = Math.max(0, values[i]!);
    if (use > stock) return { weeks: i - start + (use > 0 ? stock / use : 0), runOutWeek: week };
    stock -= use;
  }
  return { weeks: null, runOutWeek: null };
}

export function coverOf(position: StockPosition, demand: CoverDemand): Cover {
  const start = weeksAfter(demand, position.asOf);
  const lead = position.leadTimeWeeks ?? DEFAULT_LEAD_TIME_WEEKS;
  const window = Math.ceil(lead + REVIEW_PERIOD_WEEKS);
  let need = 0;
  let arriving = 0;
  for (let i = start; i < Math.min(demand.p90.length, start + window); i++) {
    need += Math.max(0, demand.p90[i]!);
    if (position.onOrderDate !== null && position.onOrderDate <= weekAt(demand.firstWeek, i)) arriving = position.onOrder ?? 0;
  }
  return {
    median: consume(position, demand, demand.p50, start),
    p90: consume(position, demand, demand.p90, start),
    leadTimeWeeks: lead,
    reorder: Math.max(0, Math.round(need - position.onHand - arriving)),
    horizonWeeks: Math.max(0, demand.p50.length - start),
  };
}

/** "1.4 wk", or "> 26 wk" when the stock lasts past the forecast. */
export function describeCover(c: CoverAt, horizonWeeks: number): string {
  return c.weeks === null ? `> ${horizonWeeks} wk` : `${c.weeks.toFixed(1)} wk`;
}
