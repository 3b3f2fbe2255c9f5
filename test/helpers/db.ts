import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migrate, openPglite, openPostgres, type Database } from '../../src/db/client.ts';

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
