// A chain-wide stock alert evaluation after a chain-wide stock ingest (issue #22), on a chain
// with stored forecasts. It WRITES stock counts and alert rules: run it on a copy
// (CREATE DATABASE x TEMPLATE y). Rules: one per store (p90 cover below 2 weeks), one per
// region (median below 1), a department chain-wide (dept 7, p90 below 3) and the chain (p90
// below 1). Each round ingests a new count of every department with a stored forecast, spread
// as the demo's stock (POST /api/v1/stock's path, in parts of 50k rows) and evaluates the rules as the
// data-changed pipeline does after it (evaluateTouched, every store touched). With --compare
// it then evaluates the same rules from every department's cover computed in TypeScript (the
// serving forecaster without its stored run: what the evaluation read before) and checks that
// both record the same result for every rule.
// With --read-only it writes nothing (a chain others measure on): it times what a chain-wide
// evaluation reads (rules' thresholds 1 week median, 3 weeks p90) against every department's
// cover computed as before, and checks that the departments below are the same.
// Run: npx tsx bench/stock-alerts.ts DATABASE_URL [--rounds 2] [--compare | --read-only]
import { loadavg } from 'node:os';
import { evaluateTouched } from '../src/alerts/hooks.ts';
import { createRule } from '../src/alerts/rules.ts';
import { ingestJson } from '../src/data/ingest.ts';
import { openPostgres, type Database } from '../src/db/client.ts';
import type { Forecaster } from '../src/forecast/forecaster.ts';
import { StoredForecaster } from '../src/forecast/stored-forecaster.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { stockAtRisk } from '../src/stock/at-risk.ts';
import { byRisk, coverInScope, type DeptCover } from '../src/stock/positions.ts';
import { OPERATOR_DELIVERY } from '../test/helpers/delivery.ts';

const args = process.argv.slice(2);
const url = args.find((a) => a.startsWith('postgres'));
if (!url) throw new Error('usage: npx tsx bench/stock-alerts.ts DATABASE_URL [--rounds N] [--compare]');
const roundsAt = args.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 2;
const PART = 50_000;
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

async function ensureRules(db: Database): Promise<void> {
  const [have] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM alert_rules WHERE kind = 'stock' AND deleted_at IS NULL`);
  if (have!.n) return;
  const t0 = performance.now();
  const outbound = createOutbound();
  const make = (scope: Parameters<typeof createRule>[2]['scope'], weeks: number, basis: 'median' | 'p90') =>
    createRule(db, undefined, { kind: 'stock', scope, condition: { type: 'cover-below', weeks, basis }, target: { kind: 'email', address: 'stock-bench@example.com' }, delivery: OPERATOR_DELIVERY }, outbound);
  const stores = await db.query<{ id: number }>('SELECT store_id AS id FROM stores ORDER BY 1');
  for (const { id } of stores) await make({ kind: 'store', store: Number(id) }, 2, 'p90');
  for (const { region } of await db.query<{ region: string }>('SELECT DISTINCT region FROM stores WHERE region IS NOT NULL')) await make({ kind: 'region', region }, 1, 'median');
  await make({ kind: 'dept', dept: 7 }, 3, 'p90');
  await make({ kind: 'chain' }, 1, 'p90');
  console.log(`  rules created in ${secs(t0)} s`);
}

/**
 * A count of every department with a stored forecast, on the run's origin, spread as the demo's
 * stock (src/data/demo-stock.ts): lead time + 4-12 weeks of its forecast, two or three
 * departments per store (a different few each round) under two weeks.
 */
async function stockRows(db: Database, runId: number, origin: string, round: number): Promise<Record<string, unknown>[]> {
  const [row] = await db.query<{ t: string | null }>(
    `SELECT string_agg(concat_ws(',', store_id, dept_id, greatest(0, p50[1])), ';') AS t FROM stored_forecasts WHERE run_id = $1 AND dept_id > 0`,
    [runId],
  );
  return (row?.t ?? '').split(';').filter(Boolean).map((line) => {
    const [store, dept, cents] = line.split(',').map(Number) as [number, number, number];
    const lead = 1 + ((store + dept) % 3);
    const low = (store * 7 + dept * 13 + round * 5) % 29 < 1;
    const weeks = low ? 0.4 + ((store + dept + round) % 12) / 10 : lead + 4 + ((store * 3 + dept + round) % 9);
    return { store, dept, date: origin, onHand: Math.round(cents * weeks) / 100, leadTimeWeeks: lead };
  });
}

async function results(db: Database): Promise<Map<string, string>> {
  const rows = await db.query<{ id: string; state: string; r: string }>(`SELECT id, state, last_result::text AS r FROM alert_rules WHERE kind = 'stock' AND deleted_at IS NULL`);
  return new Map(rows.map((x) => [x.id, `${x.state} ${x.r}`]));
}

/** What a chain-wide evaluation reads, against every department's cover: times and the same departments below. */
async function readOnly(db: Database, stored: StoredForecaster): Promise<void> {
  const every: Forecaster = { name: stored.name, forecast: (...a) => stored.forecast(...a), forecastDepartments: (...a) => stored.forecastDepartments(...a) };
  for (let i = 0; i < ROUNDS; i++) {
    let t0 = performance.now();
    const read = await stockAtRisk(db, stored, 'all', { median: 1, p90: 3 });
    console.log(`  departments that may be below (1 wk median, 3 wk p90) read from the stored arrays: ${secs(t0)} s, ${read.covers.length.toLocaleString('en-US')} of ${[...read.counted.values()].reduce((a, l) => a + l.length, 0).toLocaleString('en-US')} (load ${load()})`);
    t0 = performance.now();
    const all = await coverInScope(db, every, { kind: 'chain' });
    console.log(`  every department's cover (as before, coverInScope(chain)): ${secs(t0)} s (load ${load()})`);
    const below = (covers: readonly DeptCover[], basis: 'median' | 'p90', w: number) =>
      JSON.stringify(covers.filter((c) => c.cover && c.cover[basis].weeks !== null && c.cover[basis].weeks! < w).map(({ demand: _, ...c }) => c).sort(byRisk));
    const same = below(read.covers, 'median', 1) === below(all, 'median', 1) && below(read.covers, 'p90', 3) === below(all, 'p90', 3);
    console.log(`  departments below 1 wk median / 3 wk p90, and their figures, the same: ${same ? 'yes' : 'NO'}`);
  }
}

const db = await openPostgres(url);
try {
  const stored = new StoredForecaster(db, { refreshMs: 0 });
  const run = await stored.departmentsRun(db);
  if (!run) throw new Error('no stored forecasts: run storecast train and bench/precompute.ts first');
  const [r] = await db.query<{ origin: string; n: number }>(`SELECT origin::text AS origin, (SELECT count(*)::int FROM stores) AS n FROM forecast_runs WHERE id = $1`, [run.runId]);
  console.log(`\nChain-wide stock alert evaluation, ${r!.n.toLocaleString('en-US')} stores, stored run ${run.runId} (origin ${r!.origin}); load average ${load()}`);
  if (args.includes('--read-only')) {
    await readOnly(db, stored);
    process.exit(0);
  }
  await ensureRules(db);
  const [rules] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM alert_rules WHERE kind = 'stock' AND deleted_at IS NULL`);
  // New rules all open episodes at their first evaluation (a transaction and a notice each):
  // timed apart, so the rounds show a week's evaluation, where few rules change state.
  const [fresh] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM alert_rules WHERE kind = 'stock' AND deleted_at IS NULL AND last_evaluated_at IS NULL`);
  if (fresh!.n) {
    const t0 = performance.now();
    const e = await evaluateTouched({ db, forecaster: stored }, { stores: 'all', sales: false, stock: true });
    console.log(`  first evaluation of the new rules: ${secs(t0)} s, ${e?.fired.length} episodes opened (load ${load()})`);
  }
  // Before: the same forecaster without its stored run, so every department's cover is computed from its demand read back.
  const every: Forecaster = { name: stored.name, forecast: (...a) => stored.forecast(...a), forecastDepartments: (...a) => stored.forecastDepartments(...a) };
  for (let round = 1; round <= ROUNDS; round++) {
    const rows = await stockRows(db, run.runId, r!.origin, round);
    let t0 = performance.now();
    for (let i = 0; i < rows.length; i += PART) await ingestJson(db, rows.slice(i, i + PART), 'bench:stock', 'stock');
    console.log(`round ${round}: ingest of ${rows.length.toLocaleString('en-US')} stock rows ${secs(t0)} s (load ${load()})`);
    t0 = performance.now();
    const e = await evaluateTouched({ db, forecaster: stored }, { stores: 'all', sales: false, stock: true });
    console.log(`  evaluation of ${rules!.n.toLocaleString('en-US')} stock rules (departments that may be below, read from the stored arrays): ${secs(t0)} s, ${e?.fired.length} fired, ${e?.resolved.length} resolved, ${e?.failed.length} failed (load ${load()}, rss ${Math.round(process.memoryUsage().rss / 1048576)} MB)`);
    if (!args.includes('--compare')) continue;
    const read = await results(db);
    t0 = performance.now();
    const b = await evaluateTouched({ db, forecaster: every }, { stores: 'all', sales: false, stock: true });
    const computed = await results(db);
    const differ = [...read].filter(([id, v]) => computed.get(id) !== v).length;
    console.log(`  the same rules from every department's cover (as before): ${secs(t0)} s, ${b?.fired.length} fired, ${b?.resolved.length} resolved (load ${load()}); rules recorded differently: ${differ} of ${read.size}`);
  }
} finally {
  await db.close();
}
