import { holidayImpactChart } from '../charts/index.ts';
import { defineCommand } from '../src/chat/command.ts';
import { holidayImpactOptions, forecastLine, holidayImpactLine } from './follow-ups.ts';
import type { Reply } from '../src/chat/reply.ts';
import { UserError } from '../src/chat/errors.ts';
import { percent } from '../src/chat/format.ts';
import { areaReach, areaScope } from '../src/chat/area.ts';
import { holidayImpact as holidayLifts } from '../src/analytics/holiday-impact.ts';
import { describeScope, scopeSlug } from '../src/scope.ts';
import { answerScope } from '../src/chat/access.ts';
import { dataWindow } from '../src/analytics/series.ts';
import { HOLIDAY_NAMES, findHoliday } from '../src/data/holidays.ts';

const holidayImpact = defineCommand({
  name: 'holiday-impact',
  description: 'Sales lift of holiday weeks vs the surrounding normal weeks, per holiday and year, with 95% intervals.',
  options: holidayImpactOptions,
  keywords: ['all'],
  examples: ['/holiday-impact store 5', '/holiday-impact all thanksgiving', '/holiday-impact region south holiday christmas'],
  reach: areaReach,
  async handler(options, ctx): Promise<Reply> {
    const { store, region } = options;
    const holiday = options.holiday ? findHoliday(options.holiday) : undefined;
    const scope = answerScope(ctx, await areaScope(ctx.db, options, '/holiday-impact store 5'));
    const rows = await holidayLifts(ctx.db, scope, { holiday });
    const window = await dataWindow(ctx.db);
    if (rows.length === 0 || !window) throw new UserError(`No holiday weeks with neighbouring weeks in the data for ${describeScope(scope)}.`);
    const label = describeScope(scope);
    const perHoliday = HOLIDAY_NAMES.map((name) => {
      const of = rows.filter((r) => r.holiday === name);
      return { name, mean: of.length ? of.reduce((a, r) => a + r.lift, 0) / of.length : undefined, years: of.length };
    }).filter((h) => h.mean !== undefined);
    const best = [...perHoliday].sort((a, b) => b.mean! - a.mean!)[0]!;
    return {
      title: `${label}: holiday impact${holiday ? ` · ${holiday}` : ''}`,
      summary: `${best.name} weeks lift sales the most: ${percent(best.mean!)} vs the surrounding weeks on average over ${best.years} year${best.years > 1 ? 's' : ''}.`,
      facts: perHoliday.map((h) => ({ label: h.name, value: `${percent(h.mean!)} average lift (${h.years} year${h.years > 1 ? 's' : ''})` })),
      chart: {
        spec: holidayImpactChart({
          title: `${label} · holiday week lift vs surrounding weeks`,
          subtitle: `95% bootstrap intervals · data through ${window.lastWeek}`,
          rows: rows.map((r) => ({ holiday: r.holiday, year: r.year, lift: r.lift, lower: r.lower, upper: r.upper })),
        }),
        alt: `Bar chart of holiday-week sales lift for ${label}: ${perHoliday.map((h) => `${h.name} ${percent(h.mean!)}`).join(', ')}.`,
      },
      table: {
        columns: ['holiday', 'year', 'week', 'lift', 'lower_95', 'upper_95', 'holiday_sales', 'baseline_sales'],
        rows: rows.map((r) => [r.holiday, r.year, r.week, round4(r.lift), round4(r.lower), round4(r.upper), Math.round(r.holidaySales), Math.round(r.baselineSales)]),
        filename: `holiday-impact-${scopeSlug(scope)}.csv`,
      },
      actions: [
        ...(store !== undefined
          ? [
              { label: 'Forecast', command: forecastLine( { store, horizon: 12 }) },
              { label: 'All stores', command: holidayImpactLine( {}) },
            ]
          : []),
        ...(holiday ? [] : [{ label: 'Thanksgiving only', command: holidayImpactLine( { store, region, holiday: 'thanksgiving' }) }]),
      ],
      visibility: 'channel',
      context: { dataThrough: window.lastWeek },
      data: { scope, lifts: rows, perHoliday },
    };
  },
});

export default holidayImpact;

const round4 = (v: number) => Math.round(v * 10_000) / 10_000;
