import type { Database, SqlSession } from './client.ts';

/**
 * weekly_sales is range-partitioned by week, one partition per calendar quarter
 * (drizzle/0017_weekly_sales_partitions.sql). Its primary key (store_id, dept_id, week) puts a
 * new week's row of every series on that series' leaf page: in one table, a chain-wide week
 * (345k series at 4,600 stores) read and dirtied one leaf page per ~2 rows, ~55k pages per
 * 100k-row part. Within a quarter a series has at most 13 rows, so ~20 series share a leaf
 * page and the current quarter's index stays small enough to stay cached.
 *
 * Partitions are created on demand by every write path before it writes a new quarter
 * (import batches, ingest, demo: src/data/import.ts; restore: src/db/backup.ts). Rows written
 * by anything else (a test's or a script's INSERT) land in weekly_sales_default and are moved
 * into their quarter's partition when it is created.
 */

/** One writer of sales at a time, across processes and replicas (src/data/rollup.ts). */
export const SALES_WRITE_LOCK = 'storecast:sales-aggregates';

export const SALES_DEFAULT_PARTITION = 'weekly_sales_default';

/** The quarter a week (YYYY-MM-DD, or just YYYY-MM) falls in: its first day and its partition's name. */
export function salesQuarter(week: string): { name: string; from: string; to: string } {
  const year = Number(week.slice(0, 4));
  const q = Math.floor((Number(week.slice(5, 7)) - 1) / 3);
  const month = (m: number) => String(m + 1).padStart(2, '0');
  const to = q === 3 ? `${year + 1}-01-01` : `${year}-${month(q * 3 + 3)}-01`;
  return { name: `weekly_sales_${year}q${q + 1}`, from: `${year}-${month(q * 3)}-01`, to };
}

type Quarter = ReturnType<typeof salesQuarter>;

function quartersOf(weeks: Iterable<string>): Map<string, Quarter> {
  const quarters = new Map<string, Quarter>();
  for (const w of weeks) {
    const q = salesQuarter(w);
    quarters.set(q.name, q);
  }
  return quarters;
}

/** From pg_class, not to_regclass: its cache may not yet show a partition another writer just committed. */
const missingOf = async (s: SqlSession, quarters: Map<string, Quarter>) =>
  quarters.size
    ? (
        await s.query<{ name: string }>(
          'SELECT n AS name FROM unnest($1::text[]) n WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = n AND c.relnamespace = current_schema()::regnamespace)',
          [[...quarters.keys()]],
        )
      ).map((r) => r.name)
    : [];

/**
 * Creates the partitions of the quarters these weeks fall in that do not exist yet, in its own
 * short transaction: run it before a batch's. Creating one is an empty table attached with
 * ATTACH PARTITION, which takes only a SHARE UPDATE EXCLUSIVE lock on weekly_sales (reads and
 * writes go on), but an ACCESS EXCLUSIVE one on the default partition, which every read
 * without a week range scans: held for the batch, it would stall them for seconds.
 */
export async function ensureSalesPartitions(db: Database, weeks: Iterable<string>): Promise<string[]> {
  const quarters = quartersOf(weeks);
  if (!(await missingOf(db, quarters)).length) return [];
  return db.transaction((tx) => addSalesPartitions(tx, [...quarters.values()].map((q) => q.from)));
}

/**
 * The same inside a transaction the caller holds (a restore). Takes the sales write lock only
 * when a partition is missing, and checks again under it: another replica may have made it.
 */
export async function addSalesPartitions(tx: SqlSession, weeks: Iterable<string>): Promise<string[]> {
  const quarters = quartersOf(weeks);
  if (!(await missingOf(tx, quarters)).length) return [];
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [SALES_WRITE_LOCK]);
  const names = await missingOf(tx, quarters);
  for (const name of names) await createPartition(tx, quarters.get(name)!);
  return names;
}

async function createPartition(tx: SqlSession, q: Quarter): Promise<void> {
  const range = `week >= '${q.from}' AND week < '${q.to}'`;
  // Filled before it is attached: a default partition holding rows of the range would refuse it.
  await tx.exec(
    `CREATE TABLE ${q.name} (LIKE weekly_sales INCLUDING DEFAULTS);
     WITH moved AS (DELETE FROM ${SALES_DEFAULT_PARTITION} WHERE ${range} RETURNING *) INSERT INTO ${q.name} SELECT * FROM moved;
     ALTER TABLE weekly_sales ATTACH PARTITION ${q.name} FOR VALUES FROM ('${q.from}') TO ('${q.to}')`,
  );
}
