// Evaluating every alert rule after a chain-wide stock ingest (45 stores x 81 departments),
// on PGlite and on Postgres. Target on the 2-core machine: p95 < 2 s for the evaluation.
// Run: npx tsx bench/alerts.ts [iterations=15]
import { evaluateAfterImport } from '../src/alerts/hooks.ts';
import { evaluateRules } from '../src/alerts/evaluate.ts';
import { createRule, type AlertRuleRow } from '../src/alerts/rules.ts';
import { loadDemoData } from '../src/data/demo.ts';
import { createForecaster } from '../src/forecast/index.ts';
import { createLogger } from '../src/logger.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { ingestJson } from '../src/data/ingest.ts';
import { createTestDatabase, type DbKind } from '../test/helpers/db.ts';
import { OPERATOR_DELIVERY } from '../test/helpers/delivery.ts';

const ITERATIONS = Number(process.argv[2] ?? 15);
const STORES = 45;
const DEPTS = 81;
const REGIONS = ['Northeast', 'South', 'Midwest', 'West'];

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(0)} ms, p95 ${pct(xs, 95).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;

/** Every store x department 1-81, stock between a few days and a few months of sales; some low each round. */
function chainStock(round: number, weekly: Map<string, number>): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let store = 1; store <= STORES; store++) {
    for (let dept = 1; dept <= DEPTS; dept++) {
      const avg = weekly.get(`${store}/${dept}`) ?? 1000;
      const weeks = (store * 7 + dept * 13 + round * 5) % 97 === 0 ? 0.5 : 3 + ((store + dept + round) % 9);
      rows.push({ store, dept, date: `2012-10-${String(26 + (round % 3)).padStart(2, '0')}`, onHand: Math.round(avg * weeks), leadTimeWeeks: 1 + ((store + dept) % 3) });
    }
  }
  return rows;
}

async function rules(db: Parameters<typeof createRule>[0]): Promise<void> {
  const target = { kind: 'email', address: 'ops@example.com' } as const;
  const outbound = createOutbound();
  const make = (input: Omit<Parameters<typeof createRule>[2], 'target' | 'delivery'>) => createRule(db, undefined, { delivery: OPERATOR_DELIVERY, ...input, target }, outbound);
  for (let store = 1; store <= STORES; store++) {
    await make({ kind: 'stock', scope: { kind: 'store', store }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' } });
    await make({ kind: 'sales', scope: { kind: 'store', store }, condition: { type: 'below-forecast' } });
  }
  for (const region of REGIONS) {
    await make({ kind: 'stock', scope: { kind: 'region', region }, condition: { type: 'cover-below', weeks: 1, basis: 'median' } });
    await make({ kind: 'sales', scope: { kind: 'region', region }, condition: { type: 'drop-vs-last-year', pct: 10 } });
  }
  await make({ kind: 'stock', scope: { kind: 'dept', dept: 7 }, condition: { type: 'cover-below', weeks: 3, basis: 'p90' } });
  await make({ kind: 'sales', scope: { kind: 'chain' }, condition: { type: 'below-forecast', pct: 5 } });
}

for (const kind of ['pglite', 'postgres'] as DbKind[]) {
  const t = await createTestDatabase(kind);
  try {
    const logger = createLogger('silent');
    let started = performance.now();
    await loadDemoData(t.db);
    for (const [i, region] of REGIONS.entries()) await t.db.query('UPDATE stores SET region = $1 WHERE store_id % 4 = $2', [region, (i + 1) % 4]);
    console.log(`${kind}: demo data loaded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const forecaster = createForecaster(t.db, { tfBackend: 'cpu' }, logger);
    const deps = { db: t.db, forecaster, logger };
    await rules(t.db);
    const all = await t.db.query<AlertRuleRow>('SELECT * FROM alert_rules');
    const recent = await t.db.query<{ store_id: number; dept_id: number; avg: number }>("SELECT store_id, dept_id, avg(sales)::float8 AS avg FROM weekly_sales WHERE week > '2012-08-31' GROUP BY 1, 2");
    const weekly = new Map(recent.map((r) => [`${r.store_id}/${r.dept_id}`, Math.max(100, r.avg)]));

    started = performance.now();
    const cold = await evaluateAfterImport(deps, await ingestJson(t.db, chainStock(0, weekly), 'bench', 'stock'));
    console.log(`${kind}: first ingest + evaluation (demand forecasts of every department computed and kept): ${((performance.now() - started) / 1000).toFixed(1)} s, ${cold?.evaluated} stock rules`);

    const ingest: number[] = [];
    const afterIngest: number[] = [];
    const every: number[] = [];
    let fired = 0;
    let resolved = 0;
    for (let round = 1; round <= ITERATIONS; round++) {
      let t0 = performance.now();
      const report = await ingestJson(t.db, chainStock(round, weekly), 'bench', 'stock');
      ingest.push(performance.now() - t0);
      t0 = performance.now();
      const run = await evaluateAfterImport(deps, report);
      afterIngest.push(performance.now() - t0);
      fired += run?.fired.length ?? 0;
      resolved += run?.resolved.length ?? 0;
      t0 = performance.now();
      await evaluateRules(deps, all);
      every.push(performance.now() - t0);
    }
    const rows = STORES * DEPTS;
    console.log(`${kind}: ${ITERATIONS} rounds of a ${rows}-row chain-wide stock ingest, ${all.length} rules (${all.filter((r) => r.kind === 'stock').length} stock, ${all.filter((r) => r.kind === 'sales').length} sales); ${fired} episodes opened, ${resolved} closed`);
    console.log(`  ingest (${rows} rows, validate + upsert)        ${fmt(ingest)}`);
    console.log(`  evaluation after the ingest (stock rules)     ${fmt(afterIngest)}`);
    console.log(`  evaluation of every rule (stock and sales)    ${fmt(every)}   target p95 < 2000 ms: ${pct(every, 95) < 2000 ? 'met' : 'MISSED'}`);
  } finally {
    await t.cleanup();
  }
}
