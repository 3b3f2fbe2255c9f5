// The marketing-analytics answers on the real Walmart data (stores, features, train):
//  1. the numbers behind docs/analytics.md: markdown impact and drivers for the chain and three
//     stores (printed as a table);
//  2. p50/p95 of each command's whole path (query + statistics + PNG render at scale 2), warm,
//     as the CLI operator and as a restricted viewer (grants looked up, answers narrowed).
//     Target: p95 < 1 s. Markdown impact and drivers keep their statistics until the next import
//     (src/analytics/memo.ts): the first ask after an import computes them, and is shown apart.
// The viewer sees three of four regions (stores whose number mod 4 is not 3); the lines use their stores.
// Run: npx tsx bench/analytics.ts   (BENCH_DB=postgres for the Postgres at TEST_DATABASE_URL)
import { renderPng } from '../charts/index.ts';
import { addGrant } from '../src/access/grants.ts';
import { importFiles } from '../src/data/import.ts';
import { createTestDatabase } from '../test/helpers/db.ts';
import { asker, testServices } from '../test/helpers/services.ts';
import { requireWalmart } from './walmart.ts';

const files = requireWalmart('stores.csv', 'features.csv', 'train.csv');
const t = await createTestDatabase((process.env.BENCH_DB as 'pglite' | 'postgres') ?? 'pglite');
let started = performance.now();
await importFiles(t.db, files);
console.log(`imported the Walmart data (${t.kind}) in ${((performance.now() - started) / 1000).toFixed(1)} s (segments refreshed after train.csv)`);
const services = testServices(t.db);
const restricted = testServices(t.db, { STORECAST_ACCESS: 'restricted' });
const viewer = { platform: 'slack' as const, workspace: 'T1', channel: 'C1', user: 'U1', roles: [] };
await t.db.exec("UPDATE stores SET region = (ARRAY['Northeast','South','Midwest','West'])[1 + store_id % 4] WHERE region IS NULL");
for (const region of ['Northeast', 'South', 'Midwest']) await addGrant(t.db, { principal: 'slack:T1/U1', role: 'viewer', scope: { kind: 'region', region } });

const run = async (svc: typeof services, line: string, who = asker) => {
  const [name, ...rest] = line.split(' ');
  const outcome = await svc.run({ name: name!, text: rest.join(' ') }, who);
  if (outcome.kind !== 'ok') throw new Error(`${line}: ${outcome.reply.summary}`);
  return outcome.reply;
};

// 1. The numbers.
const STORES = [4, 20, 33];
const dollars = (e: { beta: number; lower: number; upper: number }) => `${e.beta.toFixed(3)} [${e.lower.toFixed(3)}, ${e.upper.toFixed(3)}]`;
console.log('\nmarkdown impact (sales $ per markdown $, 95% interval):');
console.log('scope      all weeks                 holiday weeks             other weeks               markdown $  r2');
for (const scope of ['chain', ...STORES.map((s) => `store ${s}`)]) {
  const r = await run(services, `markdown-impact ${scope}`);
  const d = r.data as Record<string, { beta: number; lower: number; upper: number }> & { markdownDollars: number; r2: number };
  console.log(`${scope.padEnd(10)} ${dollars(d.perDollar!).padEnd(25)} ${dollars(d.holidayWeeks!).padEnd(25)} ${dollars(d.otherWeeks!).padEnd(25)} ${(d.markdownDollars / 1e6).toFixed(1).padStart(7)}M  ${d.r2.toFixed(3)}`);
  const types = (r.data.perType as { type: string; estimate: { beta: number; lower: number; upper: number } }[]).map((x) => `${x.type.replace('MarkDown', 'MD')} ${dollars(x.estimate)}`);
  console.log(`           ${types.join('  ')}`);
}
console.log('\ndrivers (SD of de-seasonalised sales per SD of the driver, 95% interval, strength):');
for (const scope of ['chain', ...STORES.map((s) => `store ${s}`)]) {
  const r = await run(services, `drivers ${scope}`);
  const effects = r.data.effects as { driver: string; estimate: { beta: number; lower: number; upper: number }; strength: string }[];
  console.log(`${scope.padEnd(10)} ${effects.map((e) => `${e.driver} ${e.estimate.beta.toFixed(2)} [${e.estimate.lower.toFixed(2)}, ${e.estimate.upper.toFixed(2)}] ${e.strength}`).join(' | ')}`);
}
const segments = await run(services, 'segments');
console.log(`\nsegments: ${segments.facts.map((f) => `${f.label}: ${f.value}`).join('\n          ')}`);

// 2. Latency.
await run(services, 'campaign create bench-push stores 1,5,8 from 2012-03-02 to 2012-04-27');
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const runs = 20;
const LINES = ['markdown-impact chain', 'markdown-impact store N', 'drivers chain', 'drivers store N', 'campaign-impact bench-push', 'compare stores N,2 vs 6,14 from 2012-03-02 to 2012-04-27', 'segments', 'top stores in segment 1'];
console.log(`\nlatency (query + statistics + PNG, warm, ${runs} runs, stores vary where the line says N):`);
started = performance.now();
for (const [label, svc, who] of [['operator', services, asker], ['viewer ', restricted, viewer]] as const) {
  for (const line of LINES) {
    const once = async (i: number) => {
      const t0 = performance.now();
      const reply = await run(svc, line.replace(/\bN\b/, String([1, 4, 5, 8, 9, 12, 13][i % 7])), who);
      if (reply.chart) await renderPng(reply.chart.spec);
      return performance.now() - t0;
    };
    const first = await once(0);
    for (let i = 1; i < 3; i++) await once(i);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await once(i));
    console.log(`${label} /${line.padEnd(56)} p50 ${pct(times, 0.5).toFixed(0).padStart(4)} ms  p95 ${pct(times, 0.95).toFixed(0).padStart(4)} ms  (first ask ${first.toFixed(0)} ms)`);
  }
}
console.log(`(${t.kind}; latency part took ${((performance.now() - started) / 1000).toFixed(0)} s)`);
await t.cleanup();
