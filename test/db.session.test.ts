import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type Database } from '../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

/**
 * The settings every pooled Postgres connection starts with (src/db/client.ts): they ride on
 * the startup packet, so each connection the pool opens — also after a reconnect — has them.
 */
describe('Postgres session settings', () => {
  let t: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    db = await openPostgres(t.url!, { max: 3, statementTimeoutMs: 4_000 });
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await t?.cleanup();
  });

  it('turns JIT off and sets the statement timeout on every connection of the pool', async () => {
    // Three at once: each runs on its own connection of the pool.
    const answers = await Promise.all(
      [1, 2, 3].map(() =>
        db.query<{ jit: string; timeout: string; pid: number }>(
          "SELECT current_setting('jit') AS jit, current_setting('statement_timeout') AS timeout, pg_backend_pid() AS pid, pg_sleep(0.2)::text",
        ),
      ),
    );
    expect(new Set(answers.map((a) => a[0]!.pid)).size).toBe(3);
    for (const [row] of answers) expect(row).toMatchObject({ jit: 'off', timeout: '4s' });
  });

  it('cuts a statement off at the timeout', async () => {
    await expect(db.query('SELECT pg_sleep(10)')).rejects.toThrow(/statement timeout/);
  });
});
