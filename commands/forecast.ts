import { forecastChart } from '../charts/index.ts';
import { defineCommand } from '../src/chat/command.ts';
import { forecastOptions, forecastLine, salesLine, holidayImpactLine } from './follow-ups.ts';
import type { Reply } from '../src/chat/reply.ts';
import { money, percent, weekLabel } from '../src/chat/format.ts';
import { requireSeries } from '../src/chat/series-check.ts';
import { describeScope } from '../src/scope.ts';
import { weeklySeries } from '../src/analytics/series.ts';
import { holidayCalendar } from '../src/data/holidays.ts';
import { addWeeks } from '../src/data/weeks.ts';

const forecast = defineCommand({
  name: 'forecast',
  description: 'Forecast weekly sales of a store (or one department) with an 80% interval.',
  options: forecastOptions,
  examples: ['/forecast store 5 week 12', '/forecast store 5 dept 7', '/forecast 12'],
  reach: ({ store, dept }) => (dept === undefined ? { kind: 'store', store } : { kind: 'store-dept', store, dept }),
  async handler(options, ctx): Promise<Reply> {
    const { store, dept, horizon } = options;
    await requireSeries(ctx.db, store, dept);
    const scope = dept === undefined ? ({ kind: 'store', store } as const) : ({ kind: 'store-dept', store, dept } as const);
    const series = await weeklySeries(ctx.db, scope);
    const lastWeek = series[series.length - 1]!.week;
    const result = await ctx.forecaster.forecast(ctx.db, { store, dept }, horizon);
    const points = result.points;
    const first = points[0]!;
    const lastPoint = points[points.length - 1]!;
    const asOf = addWeeks(first.week, -1);

    const byWeek = new Map(series.map((p) => [p.week, p.sales]));
    const lastYear = points.map((p) => byWeek.get(addWeeks(p.week, -52)));
    const total = points.reduce((a, p) => a + p.value, 0);
    const comparable = lastYear.every((v) => v !== undefined);
    const lastYearTotal = comparable ? lastYear.reduce((a: number, v) => a + (v ?? 0), 0) : undefined;

    const years = [Number(lastWeek.slice(0, 4)) - 2, Number(lastPoint.week.slice(0, 4))];
    const calendar = holidayCalendar(years[0]!, years[1]!);
    const history = series.slice(-52);
    const holidaysShown = calendar.filter((h) => h.week >= history[0]!.week && h.week <= lastPoint.week);
    const upcoming = calendar.filter((h) => h.week > lastWeek && h.week <= lastPoint.week);
    const label = describeScope(scope);

    const facts = [
      { label: 'Next week', value: `${money(first.value)} (${weekLabel(first.week)}; 80%: ${money(first.lower)}–${money(first.upper)})` },
      {
        label: `Next ${horizon} weeks`,
        value:
          lastYearTotal !== undefined && lastYearTotal > 0
            ? `${money(total)} (${percent(total / lastYearTotal - 1)} vs same weeks last year)`
            : money(total),
      },
      { label: 'Last actual week', value: `${money(series[series.length - 1]!.sales)} (${weekLabel(lastWeek)})` },
      ...(upcoming.length ? [{ label: 'Holidays ahead', value: upcoming.map((h) => `${h.name} (${weekLabel(h.week)})`).join(', ') }] : []),
    ];
    const notes = result.note ? [result.note] : [];
    return {
      title: `${label}: ${horizon}-week forecast`,
      summary: `Sales are forecast at ${money(total)} over the next ${horizon} weeks, ${money(first.value)} next week.${result.note ? ` (${result.note})` : ''}`,
      facts,
      chart: {
        spec: forecastChart({
          title: `${label} · ${horizon}-week sales forecast`,
          // Stored forecasts still being computed for the newest week answer from the previous one: say so.
          subtitle: `Data through ${lastWeek}${asOf < lastWeek ? ` · forecast as of ${asOf}` : ''} · model ${result.model}`,
          history: history.map((p) => ({ week: p.week, value: p.sales })),
          forecast: points,
          holidays: holidaysShown.map((h) => ({ week: h.week, name: h.name })),
        }),
        alt: `Line chart of ${label} weekly sales for the last ${history.length} weeks and a ${horizon}-week forecast of ${money(total)} with an 80% interval.`,
      },
      table: {
        columns: ['week', 'forecast', 'lower_80', 'upper_80', 'same_week_last_year'],
        rows: points.map((p, i) => [p.week, round(p.value), round(p.lower), round(p.upper), lastYear[i] === undefined ? null : round(lastYear[i]!)]),
        filename: `forecast-store${store}${dept ? `-dept${dept}` : ''}-${horizon}w.csv`,
      },
      actions: [
        ...(horizon + 4 <= 52 ? [{ label: '+4 weeks', command: forecastLine( { store, dept, horizon: horizon + 4 }) }] : []),
        { label: 'Holiday impact', command: holidayImpactLine( { store }) },
        { label: 'Sales history', command: salesLine( { store, dept }) },
      ],
      visibility: 'channel',
      context: { dataThrough: lastWeek, model: result.model, notes },
      data: { scope, horizon, model: result.model, forecast: points, totals: { forecast: total, lastYear: lastYearTotal ?? null } },
    };
  },
});

export default forecast;

const round = (v: number) => Math.round(v * 100) / 100;
