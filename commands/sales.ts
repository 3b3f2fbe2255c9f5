import { salesChart } from '../charts/index.ts';
import { defineCommand } from '../src/chat/command.ts';
import { salesOptions, forecastLine, holidayImpactLine } from './follow-ups.ts';
import type { Reply } from '../src/chat/reply.ts';
import { UserError } from '../src/chat/errors.ts';
import { money, percent, weekLabel } from '../src/chat/format.ts';
import { requireSeries } from '../src/chat/series-check.ts';
import { describeScope } from '../src/scope.ts';
import { yearOverYear } from '../src/analytics/series.ts';
import { holidayCalendar } from '../src/data/holidays.ts';

export default defineCommand({
  name: 'sales',
  description: 'Weekly sales history of a store (or one department) with the same weeks last year.',
  options: salesOptions,
  examples: ['/sales store 5', '/sales store 5 dept 7 from 2011-11-01 to 2012-01-31'],
  reach: ({ store, dept }) => (dept === undefined ? { kind: 'store', store } : { kind: 'store-dept', store, dept }),
  async handler(options, ctx): Promise<Reply> {
    const { store, dept, to } = options;
    let { from } = options;
    if (from && to && from > to) throw new UserError(`"from" (${from}) is after "to" (${to}).`, { example: '/sales store 5 from 2011-11-01 to 2012-01-31' });
    await requireSeries(ctx.db, store, dept);
    const scope = dept === undefined ? ({ kind: 'store', store } as const) : ({ kind: 'store-dept', store, dept } as const);
    const all = await yearOverYear(ctx.db, scope, { to });
    if (all.length === 0) throw new UserError(`No sales for ${describeScope(scope)} up to ${to}.`);
    const lastWeek = all[all.length - 1]!.week;
    from ??= all[Math.max(0, all.length - 52)]!.week;
    const points = all.filter((p) => p.week >= from!);
    if (points.length === 0) throw new UserError(`No sales for ${describeScope(scope)} between ${from} and ${to ?? lastWeek}.`);
    const total = points.reduce((a, p) => a + p.sales, 0);
    const withLy = points.filter((p) => p.lastYear !== null);
    const lyTotal = withLy.reduce((a, p) => a + p.lastYear!, 0);
    const lyCurrent = withLy.reduce((a, p) => a + p.sales, 0);
    const best = points.reduce((a, p) => (p.sales > a.sales ? p : a));
    const label = describeScope(scope);
    const holidays = holidayCalendar(Number(points[0]!.week.slice(0, 4)), Number(lastWeek.slice(0, 4))).filter(
      (h) => h.week >= points[0]!.week && h.week <= lastWeek,
    );
    return {
      title: `${label}: sales ${weekLabel(points[0]!.week)} – ${weekLabel(lastWeek)}`,
      summary: `${money(total)} over ${points.length} weeks${withLy.length ? `, ${percent(lyCurrent / lyTotal - 1)} vs the same weeks last year` : ''}.`,
      facts: [
        { label: 'Total', value: money(total) },
        { label: 'Weekly average', value: money(total / points.length) },
        { label: 'Best week', value: `${money(best.sales)} (${weekLabel(best.week)})` },
        ...(withLy.length ? [{ label: 'Year over year', value: `${percent(lyCurrent / lyTotal - 1)} (${withLy.length} comparable weeks)` }] : []),
      ],
      chart: {
        spec: salesChart({
          title: `${label} · weekly sales`,
          subtitle: `Same weeks last year dashed · data through ${lastWeek}`,
          series: points.map((p) => ({ week: p.week, value: p.sales })),
          lastYear: withLy.map((p) => ({ week: p.week, value: p.lastYear! })),
          holidays: holidays.map((h) => ({ week: h.week, name: h.name })),
        }),
        alt: `Line chart of ${label} weekly sales over ${points.length} weeks, total ${money(total)}, with last year's weeks for comparison.`,
      },
      table: {
        columns: ['week', 'sales', 'same_week_last_year', 'change', 'holiday'],
        rows: points.map((p) => [p.week, p.sales, p.lastYear, p.change === null ? null : Math.round(p.change * 10_000) / 10_000, p.isHoliday ? 'yes' : '']),
        filename: `sales-store${store}${dept ? `-dept${dept}` : ''}.csv`,
      },
      actions: [
        { label: 'Forecast', command: forecastLine( { store, dept, horizon: 12 }) },
        { label: 'Holiday impact', command: holidayImpactLine( { store }) },
      ],
      visibility: 'channel',
      context: { dataThrough: lastWeek },
      data: { scope, from, to: to ?? lastWeek, total, series: points },
    };
  },
});
