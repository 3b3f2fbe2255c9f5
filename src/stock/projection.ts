import { addWeeks } from '../data/weeks.ts';
import type { Demand, StockPosition } from './cover.ts';

/**
 * Stock left at the end of each forecast week after the count, at median, p10 (slow) and p90
 * (fast) demand, the order added in the week it arrives. Not floored at zero: how far below
 * is how much demand would go unserved.
 */
export function stockProjection(position: StockPosition, demand: Demand): { week: string; median: number; slow: number; fast: number }[] {
  const out: { week: string; median: number; slow: number; fast: number }[] = [];
  let [median, slow, fast] = [position.onHand, position.onHand, position.onHand];
  let pending = (position.onOrder ?? 0) > 0 && position.onOrderDate !== null;
  for (let i = 0; i < demand.p50.length; i++) {
    const week = addWeeks(demand.firstWeek, i);
    if (week <= position.asOf) continue;
    if (pending && position.onOrderDate! <= week) {
      median += position.onOrder!;
      slow += position.onOrder!;
      fast += position.onOrder!;
      pending = false;
    }
    median -= Math.max(0, demand.p50[i]!);
    slow -= Math.max(0, demand.p10[i]!);
    fast -= Math.max(0, demand.p90[i]!);
    out.push({ week, median, slow, fast });
  }
  return out;
}
