import { stockCoverChart, stockLineChart } from '../charts/index.ts';
import { alertLine } from '../src/alerts/options.ts';
import { defineCommand } from '../src/chat/command.ts';
import { UserError } from '../src/chat/errors.ts';
import { money, weekLabel } from '../src/chat/format.ts';
import { commandLine } from '../src/chat/parse.ts';
import type { Reply } from '../src/chat/reply.ts';
import { describeCover, REVIEW_PERIOD_WEEKS } from '../src/stock/cover.ts';
import { byRisk, coverInScope, type DeptCover } from '../src/stock/positions.ts';
import { stockProjection } from '../src/stock/projection.ts';
import { describeScope, withDept } from '../src/scope.ts';
import forecast from './forecast.ts';
import { FIELD_RANGES } from '../src/data/limits.ts';

/** Departments drawn on the store chart (the at-risk ones come first). */
const CHART_ROWS = 20;
/** The threshold the "alert me" button proposes, weeks. */
const ALERT_WEEKS = 2;

/** At risk: at p90 demand it runs out before an order placed today (lead time + a review) lands. */
export const atRisk = (c: DeptCover) => c.cover !== undefined && c.cover.p90.weeks !== null && c.cover.p90.weeks < c.cover.leadTimeWeeks + REVIEW_PERIOD_WEEKS;

const alertMe = (store: number, dept?: number) => alertLine({ what: 'stock', store, dept, below: String(ALERT_WEEKS) });

function runOut(c: DeptCover): string {
  if (!c.cover) return 'no forecast (no sales history)';
  const m = c.cover.median;
  return m.runOutWeek ? `runs out week of ${weekLabel(m.runOutWeek)} at median demand (${describeCover(m, c.cover.horizonWeeks)})` : `covered for ${describeCover(m, c.cover.horizonWeeks)}`;
}

function table(rows: DeptCover[], store: number): NonNullable<Reply['table']> {
  const r2 = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);
  return {
    columns: ['dept', 'as_of', 'on_hand', 'on_order', 'on_order_date', 'lead_time_weeks', 'cover_median_weeks', 'run_out_median', 'cover_p90_weeks', 'run_out_p90', 'reorder', 'at_risk'],
    rows: rows.map((c) => [
      c.dept,
      c.position.asOf,
      c.position.onHand,
      c.position.onOrder,
      c.position.onOrderDate,
      c.cover?.leadTimeWeeks ?? c.position.leadTimeWeeks,
      r2(c.cover?.median.weeks),
      c.cover?.median.runOutWeek ?? null,
      r2(c.cover?.p90.weeks),
      c.cover?.p90.runOutWeek ?? null,
      c.cover?.reorder ?? null,
      atRisk(c) ? 'yes' : 'no',
    ]),
    filename: `stock-store${store}.csv`,
  };
}

function storeChart(rows: DeptCover[], store: number, asOf: string): NonNullable<Reply['chart']> {
  const shown = rows.filter((c) => c.cover).slice(0, CHART_ROWS);
  const horizon = shown[0]?.cover?.horizonWeeks ?? 26;
  return {
    spec: stockCoverChart({
      title: `Store ${store} · weeks of stock cover`,
      subtitle: `Stock counted ${asOf} · ${shown.length < rows.length ? `${shown.length} lowest of ${rows.length} departments` : `${rows.length} departments`} · red: runs out before an order arrives`,
      horizon,
      rows: shown.map((c) => ({ label: `Dept ${c.dept}`, median: c.cover!.median.weeks, p90: c.cover!.p90.weeks, leadTime: c.cover!.leadTimeWeeks })),
    }),
    alt: `Bar chart of weeks of stock cover for ${shown.length} departments of store ${store}, shortest first, against each department's lead time.`,
  };
}

function deptReply(c: DeptCover, store: number): Reply {
  const label = describeScope({ kind: 'store-dept', store, dept: c.dept });
  const facts = [
    { label: 'On hand', value: `${money(c.position.onHand)} (counted ${c.position.asOf})` },
    ...(c.position.onOrder ? [{ label: 'On order', value: `${money(c.position.onOrder)} due ${c.position.onOrderDate}` }] : []),
    ...(c.cover
      ? [
          { label: 'Cover (median)', value: runOut(c) },
          { label: 'Cover (p90 demand)', value: c.cover.p90.runOutWeek ? `${describeCover(c.cover.p90, c.cover.horizonWeeks)}, out week of ${weekLabel(c.cover.p90.runOutWeek)}` : describeCover(c.cover.p90, c.cover.horizonWeeks) },
          { label: 'Reorder', value: c.cover.reorder > 0 ? `${money(c.cover.reorder)} (lead time ${c.cover.leadTimeWeeks} wk + ${REVIEW_PERIOD_WEEKS} wk at p90)` : 'nothing needed now' },
        ]
      : []),
  ];
  const all = c.cover && c.demand ? stockProjection(c.position, c.demand) : [];
  // Up to a month past the median run-out: what matters, not half a year of shortfall.
  const out = all.findIndex((w) => w.median < 0);
  const weeks = all.slice(0, out < 0 ? all.length : Math.max(8, out + 4));
  return {
    title: `${label}: stock cover`,
    summary: `${label} ${runOut(c)}.${atRisk(c) ? ' At p90 demand it runs out before a new order could arrive.' : ''}`,
    facts,
    ...(weeks.length
      ? {
          chart: {
            spec: stockLineChart({ title: `${label} · stock week by week`, subtitle: `Counted ${c.position.asOf}: the line at median demand, the band between p10 and p90 demand`, weeks }),
            alt: `Line chart of ${label} stock over the next ${weeks.length} weeks at median demand with a band between p10 and p90 demand, and the zero line.`,
          },
        }
      : {}),
    table: table([c], store),
    actions: [
      { label: `Alert me below ${ALERT_WEEKS} weeks`, command: alertMe(store, c.dept) },
      { label: `Forecast dept ${c.dept}`, command: commandLine(forecast, { store, dept: c.dept }) },
      { label: 'All departments', command: commandLine(stock, { store }) },
    ],
    visibility: 'channel',
    context: { dataThrough: c.position.asOf },
    data: { store, dept: c.dept, position: c.position, cover: c.cover ?? null },
  };
}

const stock = defineCommand({
  name: 'stock',
  description: 'Weeks of stock cover per department from the forecast, the ones at risk first, with reorder suggestions.',
  options: [
    { name: 'store', type: 'integer', ...FIELD_RANGES.store, required: true, positional: true, autocomplete: 'store', description: 'Store number' },
    { name: 'dept', type: 'integer', ...FIELD_RANGES.dept, aliases: ['department'], autocomplete: 'dept', description: 'One department (default: all, ranked by cover)' },
  ],
  examples: ['/stock store 5', '/stock store 5 dept 7'],
  reach: ({ store, dept }) => withDept({ kind: 'store', store }, dept),
  async handler({ store, dept }, ctx): Promise<Reply> {
    const rows = (await coverInScope(ctx.db, ctx.forecaster, withDept({ kind: 'store', store }, dept))).sort(byRisk);
    if (!rows.length) {
      throw new UserError(`No stock counts for ${describeScope(withDept({ kind: 'store', store }, dept))}. Import them with \`storecast import stock.csv\` or POST /api/v1/stock.`, { code: 'NO_STOCK' });
    }
    if (dept !== undefined) return deptReply(rows[0]!, store);
    const risky = rows.filter(atRisk);
    const asOf = rows.map((r) => r.position.asOf).sort().at(-1)!;
    const worst = rows[0]!;
    return {
      title: `Store ${store}: stock cover`,
      summary: risky.length
        ? `${risky.length} of ${rows.length} departments may run out before a new order arrives: ${risky.slice(0, 5).map((c) => `Dept ${c.dept} ${runOut(c)}`).join('; ')}${risky.length > 5 ? '; …' : ''}.`
        : `No department is at risk: the shortest cover is Dept ${worst.dept}, ${runOut(worst)}.`,
      facts: [
        { label: 'Departments counted', value: String(rows.length) },
        { label: 'At risk', value: risky.length ? risky.map((c) => `Dept ${c.dept}`).join(', ') : 'none' },
        { label: 'Reorder now', value: money(risky.reduce((a, c) => a + (c.cover?.reorder ?? 0), 0)) },
        { label: 'Counted', value: asOf },
      ],
      chart: storeChart(rows, store, asOf),
      table: table(rows, store),
      actions: [
        { label: `Alert me below ${ALERT_WEEKS} weeks`, command: alertMe(store) },
        { label: `Forecast dept ${worst.dept}`, command: commandLine(forecast, { store, dept: worst.dept }) },
        { label: `Stock of dept ${worst.dept}`, command: commandLine(stock, { store, dept: worst.dept }) },
      ],
      visibility: 'channel',
      context: { dataThrough: asOf, notes: ['cover from the sales forecast; at risk: runs out at p90 demand before lead time + 1 week'] },
      data: { store, atRisk: risky.map((c) => ({ dept: c.dept, cover: c.cover })), departments: rows.length },
    };
  },
});

export default stock;
