import { forecastChart } from '../../../charts/index.ts';
import { describeScope, scopeSlug, type AreaScope, type Scope } from '../../scope.ts';
import { forecastLine } from '../../../commands/follow-ups.ts';
import { UserError } from '../../chat/errors.ts';
import { money, percent, weekLabel } from '../../chat/format.ts';
import type { Reply } from '../../chat/reply.ts';
import { dataWindow, yearOverYear } from '../../analytics/series.ts';
import type { Database } from '../../db/client.ts';
import { holidayCalendar } from '../../data/holidays.ts';
import { addWeeks } from '../../data/weeks.ts';
import type { Forecaster, ForecastPoint, ForecastResult } from '../../forecast/forecaster.ts';

/** What a weekly summary covers: a store, a region, the chain, or a recipient's stores of one of them. */
export type SummaryScope = AreaScope | Extract<Scope, { kind: 'stores' }>;

export interface Mover {
  kind: 'store' | 'dept';
  id: number;
  sales: number;
  lastYear: number;
  change: number;
}

async function storesIn(db: Database, scope: SummaryScope): Promise<number[]> {
  if (scope.kind === 'stores') {
    const rows = await db.query<{ store_id: number }>('SELECT DISTINCT store_id FROM store_week_sales WHERE store_id = ANY($1::int[]) ORDER BY 1', [scope.stores]);
    if (!rows.length) throw new UserError(`${describeScope(scope)} have no sales data.`, { code: 'EMPTY_SCOPE' });
    return rows.map((r) => r.store_id);
  }
  if (scope.kind === 'store') {
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM store_week_sales WHERE store_id = $1', [scope.store]);
    if (!rows[0]?.n) throw new UserError(`Store ${scope.store} has no sales data.`, { code: 'UNKNOWN_STORE' });
    return [scope.store];
  }
  const rows =
    scope.kind === 'region'
      ? await db.query<{ store_id: number }>(
          'SELECT DISTINCT s.store_id FROM stores s JOIN store_week_sales w USING (store_id) WHERE lower(s.region) = lower($1) ORDER BY 1',
          [scope.region],
        )
      : await db.query<{ store_id: number }>('SELECT DISTINCT store_id FROM store_week_sales ORDER BY 1');
  if (!rows.length) throw new UserError(scope.kind === 'region' ? `No stores with sales in region "${scope.region}".` : 'No sales data is loaded yet.', { code: 'EMPTY_SCOPE' });
  return rows.map((r) => r.store_id);
}

/** Departments (store scope) or stores (wider scopes) that gained and lost most ($) vs the same week last year. */
async function movers(db: Database, scope: SummaryScope, stores: number[], week: string): Promise<{ up: Mover[]; down: Mover[] }> {
  const prev = addWeeks(week, -52);
  const rows =
    scope.kind === 'store'
      ? await db.query<{ id: number; cur: number; prev: number }>(
          `SELECT dept_id AS id, coalesce(sum(sales) FILTER (WHERE week = $2::date), 0)::float8 AS cur,
                  coalesce(sum(sales) FILTER (WHERE week = $3::date), 0)::float8 AS prev
           FROM weekly_sales WHERE store_id = $1 AND week IN ($2::date, $3::date) GROUP BY dept_id`,
          [scope.store, week, prev],
        )
      : await db.query<{ id: number; cur: number; prev: number }>(
          `SELECT store_id AS id, coalesce(sum(sales) FILTER (WHERE week = $2::date), 0)::float8 AS cur,
                  coalesce(sum(sales) FILTER (WHERE week = $3::date), 0)::float8 AS prev
           FROM store_week_sales WHERE store_id = ANY($1::int[]) AND week IN ($2::date, $3::date) GROUP BY store_id`,
          [stores, week, prev],
        );
  const kind = scope.kind === 'store' ? 'dept' : 'store';
  const all = rows
    .filter((r) => r.prev > 0 && r.cur !== 0)
    .map((r) => ({ kind, id: r.id, sales: r.cur, lastYear: r.prev, change: r.cur / r.prev - 1 }) as Mover);
  const delta = (m: Mover) => m.sales - m.lastYear;
  return {
    up: all.filter((m) => delta(m) > 0).sort((a, b) => delta(b) - delta(a) || a.id - b.id).slice(0, 3),
    down: all.filter((m) => delta(m) < 0).sort((a, b) => delta(a) - delta(b) || a.id - b.id).slice(0, 3),
  };
}

function sumPoints(results: ForecastPoint[][]): ForecastPoint[] {
  const out = new Map<string, ForecastPoint>();
  for (const points of results) {
    for (const p of points) {
      const o = out.get(p.week) ?? { week: p.week, value: 0, lower: 0, upper: 0 };
      out.set(p.week, { week: p.week, value: o.value + p.value, lower: o.lower + p.lower, upper: o.upper + p.upper });
    }
  }
  return [...out.values()].sort((a, b) => a.week.localeCompare(b.week));
}

const round = (v: number) => Math.round(v * 100) / 100;

/**
 * The weekly summary: last week's sales vs the same week last year and vs what was forecast
 * for it, the biggest movers, and the next 4 weeks' forecast with its 80% interval. Region and
 * chain forecasts add up the stores' forecasts (the interval bounds too, which is wider than
 * a joint interval: a conservative range).
 */
export async function buildWeeklySummary(db: Database, forecaster: Forecaster, scope: SummaryScope, horizon = 4): Promise<Reply> {
  const window = await dataWindow(db);
  if (!window) throw new UserError('No sales data is loaded yet.', { code: 'NO_DATA' });
  const stores = await storesIn(db, scope);
  const seriesScope = scope.kind === 'store' ? { kind: 'store' as const, store: scope.store } : scope;
  const history = await yearOverYear(db, seriesScope, { from: addWeeks(window.lastWeek, -51), to: window.lastWeek });
  const last = history[history.length - 1];
  if (!last) throw new UserError(`${describeScope(scope)} has no sales in the last year of data.`, { code: 'NO_DATA' });
  const week = last.week;

  const { forecast, forecastForWeek, skipped, model } = await storeForecasts(db, forecaster, stores, week, horizon);
  const moved = await movers(db, scope, stores, week);
  const label = describeScope(scope);
  const total = forecast.reduce((a, p) => a + p.value, 0);
  const vsForecast = forecastForWeek && forecastForWeek.value !== 0 ? last.sales / forecastForWeek.value - 1 : null;
  const facts = summaryFacts(last, week, forecastForWeek, vsForecast, moved, forecast);
  const notes = [
    ...(skipped.length ? [`no forecast for store${skipped.length > 1 ? 's' : ''} ${skipped.join(', ')}`] : []),
    ...(stores.length > 1 ? ['intervals are the sum of the stores\u2019 intervals'] : []),
  ];
  return {
    title: `${label}: weekly summary, week ending ${weekLabel(week)}`,
    summary:
      `${label} sold ${money(last.sales)} in the week ending ${weekLabel(week)}` +
      (last.change !== null ? `, ${percent(last.change)} vs last year` : '') +
      (vsForecast !== null ? ` and ${percent(vsForecast)} vs forecast` : '') +
      (forecast.length ? `. Next ${forecast.length} weeks are forecast at ${money(total)}.` : '.'),
    facts,
    chart: forecast.length ? summaryChart(label, week, model, history, forecast, total) : undefined,
    table: {
      columns: ['week', 'forecast', 'lower_80', 'upper_80'],
      rows: forecast.map((p) => [p.week, round(p.value), round(p.lower), round(p.upper)]),
      filename: `summary-${scopeSlug(scope)}-${week}.csv`,
    },
    actions: scope.kind === 'store' ? [{ label: 'Forecast', command: forecastLine({ store: scope.store, horizon: 12 }) }] : [],
    visibility: 'channel',
    context: { dataThrough: window.lastWeek, model, notes },
    data: {
      scope,
      week,
      sales: round(last.sales),
      lastYear: last.lastYear === null ? null : round(last.lastYear),
      changeVsLastYear: last.change,
      forecastForWeek: forecastForWeek ? round(forecastForWeek.value) : null,
      changeVsForecast: vsForecast,
      movers: {
        up: moved.up.map((m) => ({ ...m, sales: round(m.sales), lastYear: round(m.lastYear) })),
        down: moved.down.map((m) => ({ ...m, sales: round(m.sales), lastYear: round(m.lastYear) })),
      },
      forecast: forecast.map((p) => ({ week: p.week, value: round(p.value), lower: round(p.lower), upper: round(p.upper) })),
      model,
    },
  };
}

/** Each store's forecast ahead and its one-week backcast of `week`, summed; stores without one are named. */
async function storeForecasts(db: Database, forecaster: Forecaster, stores: readonly number[], week: string, horizon: number) {
  const next: ForecastPoint[][] = [];
  const backcast: ForecastPoint[][] = [];
  const skipped: number[] = [];
  let model = forecaster.name;
  // Many stores (a region, the chain) in one pass where the forecaster can; the rest one by one.
  const batched = stores.length > 1 && forecaster.forecastStores;
  const aheadAll = batched ? await forecaster.forecastStores!(db, stores, horizon) : new Map<number, ForecastResult>();
  const pastAll = batched ? await forecaster.forecastStores!(db, stores, 1, { origin: addWeeks(week, -1) }) : new Map<number, ForecastResult>();
  for (const store of stores) {
    try {
      const ahead = aheadAll.get(store) ?? (await forecaster.forecast(db, { store }, horizon));
      const past = pastAll.get(store) ?? (await forecaster.forecast(db, { store }, 1, { origin: addWeeks(week, -1) }));
      next.push(ahead.points);
      backcast.push(past.points);
      model = ahead.model;
    } catch {
      skipped.push(store);
    }
  }
  return { forecast: sumPoints(next), forecastForWeek: sumPoints(backcast).find((p) => p.week === week), skipped, model };
}

type WeekSales = { sales: number; lastYear: number | null; change: number | null };

function summaryFacts(last: WeekSales, week: string, forecastForWeek: ForecastPoint | undefined, vsForecast: number | null, moved: { up: Mover[]; down: Mover[] }, forecast: ForecastPoint[]) {
  const moverText = (m: Mover) => `${m.kind === 'dept' ? 'Dept' : 'Store'} ${m.id} ${m.sales >= m.lastYear ? '+' : '-'}${money(Math.abs(m.sales - m.lastYear))} (${percent(m.change)})`;
  return [
    { label: 'Last week', value: `${money(last.sales)} (${weekLabel(week)})` },
    { label: 'vs last year', value: last.lastYear !== null ? `${percent(last.change ?? 0)} (${money(last.lastYear)})` : 'no sales a year earlier' },
    {
      label: 'vs forecast',
      value: forecastForWeek ? `${vsForecast === null ? 'n/a' : percent(vsForecast)} (forecast ${money(forecastForWeek.value)})` : 'no forecast for that week',
    },
    ...(moved.up.length ? [{ label: 'Biggest gains', value: moved.up.map(moverText).join(', ') }] : []),
    ...(moved.down.length ? [{ label: 'Biggest drops', value: moved.down.map(moverText).join(', ') }] : []),
    ...(forecast.length
      ? [
          {
            label: `Next ${forecast.length} weeks`,
            value: `${money(forecast.reduce((a, p) => a + p.value, 0))} (80%: ${money(forecast.reduce((a, p) => a + p.lower, 0))}–${money(forecast.reduce((a, p) => a + p.upper, 0))})`,
          },
        ]
      : []),
  ];
}

function summaryChart(label: string, week: string, model: string, history: { week: string; sales: number }[], forecast: ForecastPoint[], total: number) {
  return {
    spec: forecastChart({
      title: `${label} · weekly summary`,
      subtitle: `Data through ${week} · model ${model}`,
      history: history.map((p) => ({ week: p.week, value: p.sales })),
      forecast,
      holidays: holidayCalendar(Number(history[0]!.week.slice(0, 4)), Number(forecast[forecast.length - 1]!.week.slice(0, 4)))
        .filter((h) => h.week >= history[0]!.week && h.week <= forecast[forecast.length - 1]!.week)
        .map((h) => ({ week: h.week, name: h.name })),
    }),
    alt: `Line chart of ${label} weekly sales for the last ${history.length} weeks and a ${forecast.length}-week forecast of ${money(total)} with an 80% interval.`,
  };
}
