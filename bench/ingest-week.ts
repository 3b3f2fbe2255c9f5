// Where the time of a chain-wide new week goes (issue #22): the ingest API's batch write
// (src/data/import.ts writeBatch) taken apart on an existing chain, one 100k-row part of the
// week after the last, each step timed, the sales statement under EXPLAIN (ANALYZE, BUFFERS),
// then rolled back (the chain is left as it was, but for the quarter's partition if it was new).
// Run: [TIMING=1] npx tsx bench/ingest-week.ts DATABASE_URL [--rows 100000]
//   TIMING=1: the plan with each node's time (slower: the clock is read per row).
import { openPostgres } from '../src/db/client.ts';
import { ensureSalesPartitions } from '../src/db/partitions.ts';
import { formatByName } from '../src/data/formats.ts';
import { CHANGED_DDL, lockAggregates, refreshAggregates, tuneBatch } from '../src/data/rollup.ts';
import { addWeeks } from '../src/data/weeks.ts';

const args = process.argv.slice(2);
const url = args.find((a) => a.startsWith('postgres'));
if (!url) throw new Error('usage: npx tsx bench/ingest-week.ts DATABASE_URL [--rows 100000]');
const limit = Number(args[args.indexOf('--rows') + 1] ?? 100_000) || 100_000;
const db = await openPostgres(url);
const format = formatByName('train')!;

const [{ last } = { last: '' }] = await db.query<{ last: string }>('SELECT max(week)::text AS last FROM store_week_sales');
const week = addWeeks(last, 1);
// Spread over the chain as a new week's part is (every store's departments, in the order sent).
const rows = await db.query<{ store_id: number; dept_id: number; sales: number }>('SELECT store_id, dept_id, sales FROM weekly_sales WHERE week = $1::date ORDER BY store_id, dept_id LIMIT $2', [last, limit]);
const csv = rows.map((r, i) => `${i},${r.store_id},${r.dept_id},${week},${(r.sales * 1.01).toFixed(2)},false`).join('\n') + '\n';
console.log(`\nOne part of the week ${week}: ${rows.length.toLocaleString('en-US')} rows (stores ${rows[0]?.store_id}..${rows.at(-1)?.store_id})`);

const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  const v = await fn();
  console.log(`  ${what.padEnd(48)} ${(performance.now() - started).toFixed(0).padStart(7)} ms`);
  return v;
};

const started = performance.now();
// Committed, as the import does it in its own transaction (an empty partition left is harmless).
const partitioned = (await db.query<{ p: boolean }>(`SELECT relkind = 'p' AS p FROM pg_class WHERE relname = 'weekly_sales'`))[0]?.p;
if (partitioned) await timed('partition of the quarter (if new)', () => ensureSalesPartitions(db, [week]));
await db
  .transaction(async (tx) => {
    await timed('create staging + COPY', async () => {
      await tx.exec(`CREATE TEMP TABLE stg (${format.staging.ddl}) ON COMMIT DROP`);
      await tx.copyCsv('stg', format.staging.columns, csv);
    });
    await timed('aggregate lock + settings + chg tables', async () => {
      await lockAggregates(tx);
      await tuneBatch(tx);
      await tx.exec(CHANGED_DDL);
    });
    await timed('departments', () => tx.query(format.upsert[0]!));
    const plan = await timed('sales + aggregate deltas (EXPLAIN ANALYZE)', () => tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, TIMING ${process.env.TIMING ? "ON" : "OFF"}) ${format.upsert[1]!}`));
    await timed('holiday recount + store_holiday_weeks', () => refreshAggregates(tx));
    await timed('changed store-weeks', () => tx.query('SELECT DISTINCT week::text AS week, store_id FROM chg'));
    console.log(plan.map((p) => `    ${p['QUERY PLAN']}`).filter((l) => /Insert|Update|Nested|Scan|Buffers|Execution|CTE|JIT|Timing|Functions/.test(l)).join('\n'));
    throw new Error('rollback');
  })
  .catch((err: unknown) => {
    if (!(err instanceof Error && err.message === 'rollback')) throw err;
  });
console.log(`  total ${((performance.now() - started) / 1000).toFixed(1)} s = ${Math.round(rows.length / ((performance.now() - started) / 1000)).toLocaleString('en-US')} rows/s (rolled back)`);
await db.close();
