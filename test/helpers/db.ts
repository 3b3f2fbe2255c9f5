import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migrate, openPglite, openPostgres, type Database } from '../../src/db/client.ts';
import { generateDemoData } from '../../src/data/demo.ts';
import { importRecords } from '../../src/data/import.ts';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type DbKind = 'pglite' | 'postgres';
/** Both database modes every data-touching suite runs against. */
export const DB_KINDS: readonly DbKind[] = ['pglite', 'postgres'];

export interface TestDatabase {
  db: Database;
  kind: DbKind;
  /** postgres:// URL of the isolated database (Postgres only): for a second client. */
  url?: string;
  cleanup(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A fresh, migrated database: in-memory PGlite, or a new database on the test server
 * (dropped again in cleanup), so suites never see each other's rows.
 */
export async function createTestDatabase(kind: DbKind): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const db = await openPglite('memory://');
    await migrate(db);
    return { db, kind, cleanup: () => db.close() };
  }
  const name = `sc_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = withDatabase(TEST_DATABASE_URL, name);
  const db = await openPostgres(url);
  await migrate(db, url);
  return {
    db,
    kind,
    url,
    async cleanup() {
      await db.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    },
  };
}

/**
 * An in-memory PGlite holding the demo data of a few stores (all of their departments, all 143
 * weeks), for the platform adapters' suites: the full demo set takes several seconds more and
 * the adapters do not need 45 stores. The caller closes it.
 */
export async function openTestDatabase(stores: readonly number[] = [1, 5, 7]): Promise<Database> {
  const { db } = await createTestDatabase('pglite');
  await importDemoStores(db, stores);
  return db;
}

/**
 * Loads the demo data of a few stores into a database of either kind: stores with their
 * regions, features and every department's 143 weeks of sales.
 */
export async function importDemoStores(db: Database, stores: readonly number[]): Promise<void> {
  const demo = generateDemoData();
  const keep = new Set(stores.map(String));
  await importRecords(db, 'stores', 'test:stores', [demo.stores.filter((r) => keep.has(r[0]!))]);
  for (const r of demo.regions.filter((x) => keep.has(String(x.storeId)))) await db.query('UPDATE stores SET region = $2, timezone = $3 WHERE store_id = $1', [r.storeId, r.region, r.timezone]);
  await importRecords(db, 'features', 'test:features', [demo.features.filter((r) => keep.has(r[0]!))]);
  const sales: string[][][] = [];
  for (const chunk of demo.sales) {
    const mine = chunk.filter((r) => keep.has(r[0]!));
    if (mine.length) sales.push(mine);
  }
  await importRecords(db, 'train', 'test:sales', sales);
}
