import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { importRows } from '../src/data/import.ts';
import { tableChecksums } from '../src/db/backup.ts';
import { migrate, openPglite, openPostgres } from '../src/db/client.ts';
import { runStorecast } from './helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

/** `storecast backup` and `storecast restore` as an operator runs them: embedded directory -> Postgres. */
describe('storecast backup / restore (CLI)', () => {
  let dir: string;
  let pg: TestDatabase;
  const source = () => ({ STORECAST_DATA_DIR: join(dir, 'source'), STORECAST_DEMO: 'never' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'storecast-cli-backup-'));
    const db = await openPglite(join(dir, 'source'));
    await migrate(db);
    await importRows(db, 'train', [1, 2, 3].flatMap((store) => ['2012-01-06', '2012-01-13'].map((week) => ({ store, dept: 1, week, sales: 100 * store }))), { source: 'test' });
    await db.close();
    pg = await createTestDatabase('postgres');
  }, 60_000);
  afterAll(async () => {
    await pg?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up the embedded directory (0600) and restores it into an empty Postgres', async () => {
    const file = join(dir, 'b.jsonl.gz');
    const backup = await runStorecast(['backup', file], source());
    expect(backup.stderr).toBe('');
    expect(backup.stdout).toMatch(/^Backed up \d+ tables, [\d,]+ rows to .*b\.jsonl\.gz/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const restore = await runStorecast(['restore', file], { DATABASE_URL: pg.url });
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toMatch(/^Restored \d+ tables/);
    const again = await runStorecast(['restore', file], { DATABASE_URL: pg.url });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/restore refused: the database is not empty .*--force/);
    expect((await runStorecast(['restore', '--force', file], { DATABASE_URL: pg.url })).code).toBe(0);
    // The sales are the source's; the target's audit log has the source's rows plus its own restores.
    const local = await openPglite(join(dir, 'source'));
    const remote = await openPostgres(pg.url!);
    try {
      const [want, got] = [await tableChecksums(local), await tableChecksums(remote)];
      expect(got.weekly_sales).toEqual(want.weekly_sales);
      expect(got.store_week_sales).toEqual(want.store_week_sales);
      // Import runs are the source's, plus one recording the restore: the data changed (src/data/changed.ts).
      const runs = (db: typeof local) => db.query(`SELECT id::int, source, format, status, rows_accepted, (extract(epoch FROM finished_at) * 1000000)::bigint::text AS finished FROM import_runs WHERE format <> 'restore' ORDER BY id`);
      expect(await runs(remote)).toEqual(await runs(local));
      expect(await remote.query(`SELECT source, status FROM import_runs WHERE format = 'restore'`)).toEqual([{ source: 'restore:b.jsonl.gz', status: 'succeeded' }]);
    } finally {
      await local.close();
      await remote.close();
    }
  }, 120_000);

  it('restores credentials only with --with-credentials, drops chart specs that load files, and prints what it skipped', async () => {
    const from = join(dir, 'planted');
    const db = await openPglite(from);
    await migrate(db);
    await createToken(db, { name: 'planted admin', scopes: ['admin'] });
    await db.query(`INSERT INTO access_grants (id, principal, role, scope_kind, scope_value) VALUES ('g1', 'slack:T1/U1', 'admin', 'chain', '')`);
    await db.query(`INSERT INTO console_sessions (id_hash, principal, expires_at) VALUES ('h1', 'slack:T1/U1', now() + interval '30 days')`);
    await db.query(`INSERT INTO charts (id, spec, expires_at) VALUES ('plantedAaaaaaaaaaaaaaaaa', '{"data":{"url":"file:///etc/passwd"},"mark":"text"}', now() + interval '1 day')`);
    await db.close();
    const file = join(dir, 'planted.jsonl.gz');
    expect((await runStorecast(['backup', file], { STORECAST_DATA_DIR: from, STORECAST_DEMO: 'never' })).code).toBe(0);
    const target = await createTestDatabase('postgres');
    try {
      const restore = await runStorecast(['restore', file], { DATABASE_URL: target.url });
      expect(restore.code, restore.stderr).toBe(0);
      expect(restore.stdout).toMatch(/skipped api_tokens: 1 rows \(credentials.*--with-credentials\)/);
      expect(restore.stdout).toMatch(/skipped access_grants: 1 rows/);
      expect(restore.stdout).toMatch(/skipped console_sessions: 1 rows/);
      expect(restore.stdout).toMatch(/skipped charts: 1 rows \(chart specs that load a file or URL\)/);
      for (const table of ['api_tokens', 'access_grants', 'console_sessions', 'charts']) expect(await target.db.query(`SELECT 1 FROM ${table}`), table).toHaveLength(0);
      const all = await runStorecast(['restore', '--force', '--with-credentials', file], { DATABASE_URL: target.url });
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout).not.toMatch(/skipped api_tokens/);
      expect(all.stdout).toMatch(/skipped charts: 1 rows/);
      expect(await target.db.query(`SELECT 1 FROM api_tokens WHERE name = 'planted admin'`)).toHaveLength(1);
      expect(await target.db.query(`SELECT 1 FROM charts`)).toHaveLength(0);
    } finally {
      await target.cleanup();
    }
  }, 120_000);

  it('says what is wrong with a missing or foreign file', async () => {
    const missing = await runStorecast(['restore', join(dir, 'nope.gz')], { DATABASE_URL: pg.url });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/restore refused: .*ENOENT|no such file/);
  }, 60_000);
});
