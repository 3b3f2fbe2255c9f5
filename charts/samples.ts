/**
 * Realistic sample inputs for every chart kind (a Walmart-like store: ~$1.5M a week, Thanksgiving
 * and Christmas spikes, a January dip), deterministic so sample images and benchmarks are stable.
 *
 *   npx tsx charts/samples.ts [outDir]   writes one PNG per chart kind (default docs/charts/)
 */
import type { ForecastChartInput } from './forecast.ts';
import type { HolidayImpactChartInput } from './holiday-impact.ts';
import type { RankingChartInput } from './ranking.ts';
import type { SalesChartInput } from './sales.ts';
import type { HolidayMark } from './holidays.ts';
import { prng } from '../src/util/random.ts';

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString().slice(0, 10);

/** The Walmart data set's holiday weeks (Fridays), 2010 – 2013. */
export const SAMPLE_HOLIDAYS: HolidayMark[] = [
  ['2010-02-12', 'Super Bowl'], ['2011-02-11', 'Super Bowl'], ['2012-02-10', 'Super Bowl'], ['2013-02-08', 'Super Bowl'],
  ['2010-09-10', 'Labor Day'], ['2011-09-09', 'Labor Day'], ['2012-09-07', 'Labor Day'],
  ['2010-11-26', 'Thanksgiving'], ['2011-11-25', 'Thanksgiving'], ['2012-11-23', 'Thanksgiving'],
  ['2010-12-31', 'Christmas'], ['2011-12-30', 'Christmas'], ['2012-12-28', 'Christmas'],
].map(([week, name]) => ({ week: week!, name: name! }));

/** Seasonal multiplier for a Friday week-ending date. */
function season(t: number): number {
  const d = new Date(t);
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  let f = 1 + 0.04 * Math.sin(((m + 0.5) / 12) * 2 * Math.PI - 1.2);
  if (m === 10 && day >= 22 && day <= 28) f *= 1.38; // Black Friday week
  if (m === 11 && day >= 17 && day <= 23) f *= 1.32;
  if (m === 11 && day >= 24 && day <= 31) f *= 1.55; // the week before Christmas
  if (m === 11 && day >= 10 && day <= 16) f *= 1.12;
  if (m === 0) f *= 0.86;
  if (m === 1 && day >= 6 && day <= 12) f *= 1.05;
  return f;
}

/** Weekly sales for one store from `from` for `weeks` weeks. */
export function sampleSeries(from: string, weeks: number, { base = 1_480_000, trend = 0.0006, seed = 5 } = {}) {
  const r = prng(seed);
  const t0 = Date.parse(`${from}T00:00:00Z`);
  return Array.from({ length: weeks }, (_, i) => {
    const t = t0 + i * 7 * DAY;
    const noise = 1 + (r() - 0.5) * 0.07;
    return { week: iso(t), value: Math.round(base * (1 + trend * i) * season(t) * noise) };
  });
}

export function sampleForecastInput(): ForecastChartInput {
  const history = sampleSeries('2010-02-05', 143); // through 2012-10-26, like the Walmart data
  const last = history.at(-1)!;
  const t0 = Date.parse(`${last.week}T00:00:00Z`);
  const r = prng(11);
  const forecast = Array.from({ length: 12 }, (_, i) => {
    const t = t0 + (i + 1) * 7 * DAY;
    const value = Math.round(1_480_000 * (1 + 0.0006 * (143 + i)) * season(t) * (1 + (r() - 0.5) * 0.02));
    const w = 0.06 + 0.012 * i;
    return { week: iso(t), value, lower: Math.round(value * (1 - w)), upper: Math.round(value * (1 + w * 1.1)) };
  });
  return {
    title: 'Store 5 · 12-week sales forecast',
    subtitle: 'Weekly sales, all departments · data through 2012-10-26 · model seasonal-naive',
    history,
    forecast,
    holidays: SAMPLE_HOLIDAYS,
  };
}

export function sampleSalesInput(): SalesChartInput {
  const all = sampleSeries('2010-02-05', 143, { base: 61_000, seed: 7 });
  const series = all.slice(-52);
  const lastYear = all.slice(-104, -52).map((p, i) => ({ week: series[i]!.week, value: p.value }));
  return {
    title: 'Store 5 · Dept 7 · weekly sales',
    subtitle: 'Last 52 weeks vs the same week a year earlier · data through 2012-10-26',
    series,
    lastYear,
    holidays: SAMPLE_HOLIDAYS,
  };
}

export function sampleHolidayImpactInput(): HolidayImpactChartInput {
  const lifts: [string, number, number][] = [
    ['Super Bowl', 0.062, 0.035], ['Labor Day', 0.018, 0.03], ['Thanksgiving', 0.371, 0.06], ['Christmas', -0.085, 0.05],
  ];
  const r = prng(3);
  const rows = lifts.flatMap(([holiday, lift, ci]) =>
    [2010, 2011, 2012]
      .filter((year) => !(year === 2012 && (holiday === 'Thanksgiving' || holiday === 'Christmas')))
      .map((year) => {
        const l = lift + (r() - 0.5) * 0.04;
        return { holiday, year, lift: l, lower: l - ci * (0.8 + r() * 0.4), upper: l + ci * (0.8 + r() * 0.4) };
      }),
  );
  return {
    title: 'Store 5 · holiday lift vs normal weeks',
    subtitle: 'Sales in the holiday week vs the average of the 4 weeks around it · 80% interval · data through 2012-10-26',
    rows,
  };
}

export function sampleRankingInput(): RankingChartInput {
  const rows = [
    ['Store 38', 0.151], ['Store 44', 0.128], ['Store 39', 0.097], ['Store 41', 0.083], ['Store 17', 0.064],
    ['Store 23', 0.041], ['Store 5', 0.012], ['Store 12', -0.018], ['Store 36', -0.047], ['Store 35', -0.092],
  ].map(([label, value]) => ({ label: label as string, value: value as number }));
  return {
    title: 'Top stores by growth',
    subtitle: 'Sales, last 13 weeks vs the same weeks a year earlier · data through 2012-10-26',
    valueFormat: 'percent',
    rows,
  };
}

export function sampleRankingCurrencyInput(): RankingChartInput {
  const rows = [
    ['Store 20', 2_107_000], ['Store 4', 2_094_000], ['Store 14', 2_020_000], ['Store 13', 1_987_000],
    ['Store 2', 1_868_000], ['Store 10', 1_852_000], ['Store 27', 1_775_000], ['Store 6', 1_565_000],
  ].map(([label, value]) => ({ label: label as string, value: value as number }));
  return {
    title: 'Top stores by weekly sales',
    subtitle: 'Average weekly sales, last 13 weeks · data through 2012-10-26',
    valueFormat: 'currency',
    rows,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { forecastChart, salesChart, holidayImpactChart, rankingChart, renderPng } = await import('./index.ts');
  const out = process.argv[2] ?? new URL('../docs/charts/', import.meta.url).pathname;
  mkdirSync(out, { recursive: true });
  const charts = {
    forecast: forecastChart(sampleForecastInput()),
    sales: salesChart(sampleSalesInput()),
    'holiday-impact': holidayImpactChart(sampleHolidayImpactInput()),
    'ranking-growth': rankingChart(sampleRankingInput()),
    'ranking-sales': rankingChart(sampleRankingCurrencyInput()),
  };
  for (const [name, spec] of Object.entries(charts)) {
    const file = `${out.replace(/\/$/, '')}/${name}.png`;
    writeFileSync(file, await renderPng(spec));
    console.log(`wrote ${file}`);
  }
}
