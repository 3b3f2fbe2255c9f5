import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupToFile, listTables, restoreFromFile, tableChecksums } from '../src/db/backup.ts';
import { openPostgres } from '../src/db/client.ts';
import { ensureSalesPartitions, salesQuarter } from '../src/db/partitions.ts';
import { importRecords } from '../src/data/import.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';

/**
 * weekly_sales is partitioned by quarter (drizzle/0017, src/db/partitions.ts): every write path
 * makes the partition of a quarter it reaches first, rows written around it are moved into it,
 * backups see one table, and the migration converts an existing table.
 */
const salesRows = (rows: [number, number, string, number][]) => [rows.map(([s, d, w, v]) => [String(s), String(d), w, String(v), 'FALSE'])];

/** Where each row of weekly_sales is stored: partition name by week. */
async function placement(t: TestDatabase): Promise<Record<string, string>> {
  const rows = await t.db.query<{ week: string; part: string }>('SELECT DISTINCT week::text AS week, tableoid::regclass::text AS part FROM weekly_sales ORDER BY 1');
  return Object.fromEntries(rows.map((r) => [r.week, r.part]));
}

const partitions = async (t: TestDatabase) =>
  (await t.db.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'weekly_sales'::regclass ORDER BY 1`)).map((r) => r.name);

it('names the quarter of a week', () => {
  expect(salesQuarter('2012-11-02')).toEqual({ name: 'weekly_sales_2012q4', from: '2012-10-01', to: '2013-01-01' });
  expect(salesQuarter('2013-01-04')).toEqual({ name: 'weekly_sales_2013q1', from: '2013-01-01', to: '2013-04-01' });
  expect(salesQuarter('2012-06')).toEqual({ name: 'weekly_sales_2012q2', from: '2012-04-01', to: '2012-07-01' });
});

describe.each(DB_KINDS)('weekly_sales partitions on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await t.db.exec("INSERT INTO stores (store_id, type, size) VALUES (1, 'A', 150000), (2, 'B', 90000)");
  });
  afterAll(() => t.cleanup());

  it('starts with the default partition only, and an import makes the partitions of the quarters it reaches', async () => {
    expect(await partitions(t)).toEqual(['weekly_sales_default']);
    await importRecords(t.db, 'train', 'test', salesRows([[1, 1, '2012-12-28', 10], [2, 1, '2012-12-28', 20], [1, 1, '2013-01-04', 11]]));
    expect(await partitions(t)).toEqual(['weekly_sales_2012q4', 'weekly_sales_2013q1', 'weekly_sales_default']);
    expect(await placement(t)).toEqual({ '2012-12-28': 'weekly_sales_2012q4', '2013-01-04': 'weekly_sales_2013q1' });
  });

  it('moves rows written around the import (into the default partition) into the new quarter, and keeps aggregates whole', async () => {
    await t.db.query(`INSERT INTO weekly_sales (store_id, dept_id, week, sales) VALUES (2, 1, '2013-04-05', 5)`);
    expect((await placement(t))['2013-04-05']).toBe('weekly_sales_default');
    // The ingest of the next weeks reaches 2013-Q2: its partition takes the row already there.
    await importRecords(t.db, 'train', 'test', salesRows([[1, 1, '2013-04-12', 12], [2, 1, '2013-04-05', 5]]));
    expect(await placement(t)).toMatchObject({ '2013-04-05': 'weekly_sales_2013q2', '2013-04-12': 'weekly_sales_2013q2' });
    const [{ n } = { n: -1 }] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM weekly_sales_default');
    expect(n).toBe(0);
    const [s] = await t.db.query<{ sales: number }>(`SELECT sales FROM store_week_sales WHERE store_id = 1 AND week = '2013-04-12'`);
    expect(s?.sales).toBe(12);
  });

  it('answers reads by store and department across partitions, in week order', async () => {
    const rows = await t.db.query<{ week: string }>('SELECT week::text AS week FROM weekly_sales WHERE store_id = 1 AND dept_id = 1 ORDER BY week');
    expect(rows.map((r) => r.week)).toEqual(['2012-12-28', '2013-01-04', '2013-04-12']);
    const [last] = await t.db.query<{ week: string }>('SELECT week::text AS week FROM weekly_sales WHERE store_id = 1 AND dept_id = 1 ORDER BY week DESC LIMIT 1');
    expect(last?.week).toBe('2013-04-12');
  });

  it('backs up one weekly_sales table (no partitions listed) and restores each row into its quarter', async () => {
    const tables = await listTables(t.db);
    expect(tables).toContain('weekly_sales');
    expect(tables.filter((n) => n.startsWith('weekly_sales_'))).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'storecast-partitions-'));
    const target = await createTestDatabase(kind === 'pglite' ? 'postgres' : 'pglite');
    try {
      await backupToFile(t.db, join(dir, 'b.gz'));
      await restoreFromFile(target.db, join(dir, 'b.gz'));
      expect(await tableChecksums(target.db)).toEqual(await tableChecksums(t.db));
      expect(await placement(target)).toEqual(await placement(t));
    } finally {
      await target.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the migration to partitions (drizzle/0017) on an existing table', () => {
  it.each(DB_KINDS)('%s: keeps every row and the primary key, one partition per quarter present', async (kind) => {
    const t = await createTestDatabase(kind);
    try {
      // weekly_sales as it stood before 0017, with rows in three quarters.
      await t.db.exec(
        `DROP TABLE weekly_sales;
         CREATE TABLE weekly_sales (store_id integer NOT NULL, dept_id integer NOT NULL, week date NOT NULL, sales double precision NOT NULL, is_holiday boolean DEFAULT false NOT NULL,
           CONSTRAINT weekly_sales_store_id_dept_id_week_pk PRIMARY KEY (store_id, dept_id, week));
         INSERT INTO weekly_sales VALUES (1, 1, '2012-09-28', 1, false), (1, 1, '2012-10-05', 2, false), (1, 2, '2012-10-05', 3, true), (2, 1, '2013-01-04', 4, false)`,
      );
      const sql = readFileSync(new URL('../drizzle/0017_weekly_sales_partitions.sql', import.meta.url), 'utf8');
      for (const statement of sql.split('--> statement-breakpoint')) await t.db.exec(statement);
      expect(await partitions(t)).toEqual(['weekly_sales_2012q3', 'weekly_sales_2012q4', 'weekly_sales_2013q1', 'weekly_sales_default']);
      expect(await placement(t)).toEqual({ '2012-09-28': 'weekly_sales_2012q3', '2012-10-05': 'weekly_sales_2012q4', '2013-01-04': 'weekly_sales_2013q1' });
      const [{ n, total } = { n: 0, total: 0 }] = await t.db.query<{ n: number; total: number }>('SELECT count(*)::int AS n, sum(sales)::float8 AS total FROM weekly_sales');
      expect([n, total]).toEqual([4, 10]);
      await expect(t.db.query(`INSERT INTO weekly_sales VALUES (1, 2, '2012-10-05', 9, false)`)).rejects.toThrow(/duplicate key|unique/);
    } finally {
      await t.cleanup();
    }
  });
});

describe('two writers reaching a new quarter at once (two replicas on one Postgres)', () => {
  it('make its partition once; both succeed', async () => {
    const t = await createTestDatabase('postgres');
    const other = await openPostgres(t.url!);
    try {
      const made = await Promise.all([ensureSalesPartitions(t.db, ['2014-02-07']), ensureSalesPartitions(other, ['2014-03-07', '2014-05-02'])]);
      expect(made.flat().sort()).toEqual(['weekly_sales_2014q1', 'weekly_sales_2014q2']);
      expect(await ensureSalesPartitions(t.db, ['2014-01-03', '2014-06-27'])).toEqual([]);
    } finally {
      await other.close();
      await t.cleanup();
    }
  });
});
