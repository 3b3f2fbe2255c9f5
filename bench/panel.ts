// What a serving replica pays to forecast with a model at chain size: loading the sales panel,
// building the department bases at the latest week, the first and later forecasts, with the
// longest event-loop stall of each step (a stall delays every other request of the replica)
// and the memory held.
// Run: npx tsx bench/panel.ts DATABASE_URL   (a chain with an active model: bench/scale.ts --keep,
//      then `storecast train`, or bench/replicas.ts, which trains one on start)
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openPostgres } from '../src/db/client.ts';
import { createLogger } from '../src/logger.ts';
import { ModelForecaster } from '../src/forecast/model-forecaster.ts';
import { addWeeks } from '../src/data/weeks.ts';

const url = process.argv[2];
if (!url) throw new Error('usage: npx tsx bench/panel.ts DATABASE_URL');
const db = await openPostgres(url);
const mb = () => `${Math.round(process.memoryUsage().rss / 1048576)} MB RSS`;

async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const stall = monitorEventLoopDelay({ resolution: 10 });
  stall.enable();
  const started = performance.now();
  const value = await fn();
  stall.disable();
  console.log(`  ${what.padEnd(44)} ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s   longest stall ${(stall.max / 1e6).toFixed(0).padStart(5)} ms   ${mb()}`);
  return value;
}

const [{ stores } = { stores: 0 }] = await db.query<{ stores: number }>('SELECT count(*)::int AS stores FROM stores');
console.log(`\nModel forecasts on ${stores.toLocaleString('en-US')} stores`);
const forecaster = new ModelForecaster({ logger: createLogger('silent') });
await step('panel load + bases at the latest week (warm)', () => forecaster.warm(db));
const ids = Array.from({ length: 20 }, (_, i) => 1 + ((i * 7919) % stores));
await step('first /forecast store N (after warm)', () => forecaster.forecast(db, { store: ids[0]! }, 12));
const times: number[] = [];
await step('20 stores x /forecast store N week 12', async () => {
  for (const store of ids) {
    const t = performance.now();
    await forecaster.forecast(db, { store }, 12);
    times.push(performance.now() - t);
  }
});
times.sort((a, b) => a - b);
console.log(`    per store: p50 ${times[10]!.toFixed(0)} ms, p95 ${times[18]!.toFixed(0)} ms`);
const [{ last } = { last: '' }] = await db.query<{ last: string }>('SELECT max(week)::text AS last FROM store_week_sales');
const earlier = addWeeks(last, -1);
await step(`first forecast from another origin (${earlier})`, () => forecaster.forecast(db, { store: ids[1]! }, 1, { origin: earlier }));
await step('then another store from that origin', () => forecaster.forecast(db, { store: ids[2]! }, 1, { origin: earlier }));
await step(`region-size batch: ${Math.min(stores, 1150)} stores' totals`, () => forecaster.forecastStores(db, Array.from({ length: Math.min(stores, 1150) }, (_, i) => i + 1), 4));
await db.close();
