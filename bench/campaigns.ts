// Validation of /campaign-impact on the full demo data set (45 stores), as issue #13 asks:
//  1. a synthetic +8% lift on 5 stores for 8 weeks, injected after import (src/data/demo.ts is
//     not changed), measured through the command: the 95% interval must cover 8%;
//  2. PLACEBOS placebo campaigns (5 random untreated stores, a random 8-week window, automatic
//     controls from the other untreated stores): the share whose interval excludes zero is the
//     false-positive rate, nominally 5%.
// Run: npx tsx bench/campaigns.ts [placebos=200]
import { diffInDiff, matchControls } from '../src/analytics/did.ts';
import { loadSegments } from '../src/analytics/segments.ts';
import { loadDemoData } from '../src/data/demo.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { prng } from '../src/util/random.ts';
import { createTestDatabase } from '../test/helpers/db.ts';
import { asker, testServices } from '../test/helpers/services.ts';

const PLACEBOS = Number(process.argv[2] ?? 200);
const TREATED = [3, 11, 19, 27, 35];
const START = '2012-03-02';
const END = addWeeks(START, 7);
const t = await createTestDatabase('pglite');
let started = performance.now();
await loadDemoData(t.db);
console.log(`demo data loaded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const table of ['weekly_sales', 'store_week_sales']) {
  await t.db.query(`UPDATE ${table} SET sales = sales * 1.08 WHERE store_id = ANY($1::int[]) AND week BETWEEN $2::date AND $3::date`, [TREATED, START, END]);
}
const services = testServices(t.db);
const ask = async (line: string) => {
  const [name, ...rest] = line.split(' ');
  const o = await services.run({ name: name!, text: rest.join(' ') }, asker);
  if (o.kind !== 'ok') throw new Error(o.reply.summary);
  return o.reply;
};
await ask(`campaign create synthetic stores ${TREATED.join(',')} from ${START} to ${END}`);
const reply = await ask('campaign-impact synthetic');
const did = reply.data.did as { lift: number; lower: number; upper: number; preTrend: { parallel: boolean; drift: number } };
const pc = (v: number) => `${(100 * v).toFixed(2)}%`;
console.log(`synthetic +8% on stores ${TREATED.join(',')}, ${START}..${END}: lift ${pc(did.lift)} (95% ${pc(did.lower)} to ${pc(did.upper)}) covers 8%: ${did.lower < 0.08 && did.upper > 0.08}; parallel pre-trend: ${did.preTrend.parallel} (drift ${pc(did.preTrend.drift)})`);
console.log(`  controls: ${(reply.data.controls as { store: number }[]).map((c) => c.store).join(',')}`);
console.log(`  ${reply.summary}`);

started = performance.now();
const rows = await t.db.query<{ store_id: number; week: string; sales: number }>('SELECT store_id, week::text AS week, sales FROM store_week_sales');
const series = new Map<number, Map<string, number>>();
for (const r of rows) (series.get(r.store_id) ?? series.set(r.store_id, new Map()).get(r.store_id)!).set(r.week, r.sales);
const weeks = [...new Set(rows.map((r) => r.week))].sort();
const untreated = [...series.keys()].filter((s) => !TREATED.includes(s));
const segments = new Map((await loadSegments(t.db)).map((s) => [s.store, s.segment]));
const rand = prng(13);
let positives = 0;
let failedChecks = 0;
const widths: number[] = [];
for (let i = 0; i < PLACEBOS; i++) {
  const at = 26 + Math.floor(rand() * (weeks.length - 26 - 8));
  const window = weeks.slice(at, at + 8);
  // Windows overlapping the synthetic campaign use only untreated stores anyway.
  const pool = [...untreated].sort(() => rand() - 0.5);
  const pre = weeks.slice(at - 26, at);
  const controls = matchControls(series, pool.slice(0, 5), pool.slice(5), pre, segments, 10).map((c) => c.store);
  const r = diffInDiff(series, pool.slice(0, 5), controls, { pre, window, seed: i });
  if (r.lower > 0 || r.upper < 0) positives++;
  if (!r.preTrend.parallel) failedChecks++;
  widths.push(r.upper - r.lower);
}
widths.sort((a, b) => a - b);
const rate = positives / PLACEBOS;
const se = Math.sqrt((rate * (1 - rate)) / PLACEBOS);
console.log(`placebo campaigns: ${PLACEBOS}, intervals excluding zero: ${positives} = ${pc(rate)} (±${pc(1.96 * se)}; nominal 5%), median interval width ${pc(widths[Math.floor(PLACEBOS / 2)]!)}, pre-period checks failed ${failedChecks}, ${((performance.now() - started) / PLACEBOS).toFixed(1)} ms per placebo`);
await t.cleanup();
