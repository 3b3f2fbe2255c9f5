// p50/p95 of the whole /forecast and /holiday-impact path (query + forecast + PNG at scale 2)
// on the real Walmart data, warm; and the render alone. Targets: p95 < 500 ms, render p50 < 100 ms.
// Each command runs twice: as the CLI operator (no grants to look up) and as a Slack viewer in
// restricted mode whose grants are checked and whose cross-store answers are narrowed (a region
// grant plus store grants): the access check must cost less than 10% of p95.
// Run: npx tsx bench/reply.ts
import { renderPng } from '../charts/index.ts';
import { importFiles } from '../src/data/import.ts';
import { createTestDatabase } from '../test/helpers/db.ts';
import { asker, testServices } from '../test/helpers/services.ts';
import { requireWalmart } from './walmart.ts';
import { addGrant } from '../src/access/grants.ts';

const files = requireWalmart('stores.csv', 'features.csv', 'train.csv');
const t = await createTestDatabase((process.env.BENCH_DB as 'pglite' | 'postgres') ?? 'pglite');
await importFiles(t.db, files);
const services = testServices(t.db);
const restricted = testServices(t.db, { STORECAST_ACCESS: 'restricted' });
const viewer = { platform: 'slack' as const, workspace: 'T1', channel: 'C1', user: 'U1', roles: [] };
// Every store through a region grant, two more by store grants: the widest lookup a viewer needs.
for (const region of ['Northeast', 'South', 'Midwest', 'West']) await addGrant(t.db, { principal: 'slack:T1/U1', role: 'viewer', scope: { kind: 'region', region } });
await t.db.exec("UPDATE stores SET region = (ARRAY['Northeast','South','Midwest','West'])[1 + store_id % 4] WHERE region IS NULL");
await addGrant(t.db, { principal: 'slack:T1/U1', role: 'viewer', scope: { kind: 'store', store: 5 } });

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const runs = 40;

for (const [label, svc, who] of [['operator', services, asker], ['viewer ', restricted, viewer]] as const)
for (const line of ['forecast store 5 week 12', 'forecast store 20 dept 7 week 52', 'holiday-impact store 5', 'holiday-impact all']) {
  const [name, ...rest] = line.split(' ');
  const once = async (store: number) => {
    const started = performance.now();
    const outcome = await svc.run({ name: name!, text: rest.join(' ').replace(/store \d+/, `store ${store}`) }, who);
    if (outcome.kind !== 'ok') throw new Error(outcome.reply.summary);
    await renderPng(outcome.reply.chart!.spec);
    return performance.now() - started;
  };
  for (let i = 0; i < 5; i++) await once(1 + i);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once(1 + (i % 45)));
  console.log(`${label} /${line.padEnd(34)} p50 ${pct(times, 0.5).toFixed(0).padStart(4)} ms  p95 ${pct(times, 0.95).toFixed(0).padStart(4)} ms  (${runs} runs, ${t.kind}, stores vary)`);
}

const reply = await services.run({ name: 'forecast', text: 'store 5 week 12' }, asker);
if (reply.kind !== 'ok') throw new Error('forecast failed');
const spec = reply.reply.chart!.spec;
for (let i = 0; i < 5; i++) await renderPng(spec);
const render: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  await renderPng(structuredClone(spec));
  render.push(performance.now() - started);
}
console.log(`render forecast chart at scale 2: p50 ${pct(render, 0.5).toFixed(0)} ms  p95 ${pct(render, 0.95).toFixed(0)} ms`);
await t.cleanup();
