import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

const child = fileURLToPath(new URL('./helpers/db-crash-child.ts', import.meta.url));
const typesChild = fileURLToPath(new URL('./helpers/db-types-crash-child.ts', import.meta.url));

function run(env: Record<string, string>, script = child): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

// The defect is in the postgres.js driver (patches/postgres+3.4.9.patch), so Postgres only:
// PGlite has no socket to lose.
describe('a database backend terminated under a held lock (postgres.js nextWrite defect)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(async () => t?.cleanup());

  it('settles a statement on a dead transaction or lock connection with CONNECTION_CLOSED instead of crashing the process; the pool answers after', async () => {
    const { code, stdout, stderr } = await run({ DB_URL: t.url! });
    expect(stderr).not.toMatch(/Cannot read properties of null/);
    expect(stdout).toContain('transaction statement after the kill: CONNECTION_CLOSED');
    expect(stdout).toContain('after the transaction: pool answers 1');
    expect(stdout).toContain('round 3: pool answers 1');
    expect(stdout).toContain('survived');
    expect(code).toBe(0);
  }, 30_000);

  it('a client ended while a new connection fetches its array types settles the waiting query instead of crashing (seen in the image: the health probe replaced under load)', async () => {
    const { code, stdout, stderr } = await run({ DB_URL: t.url! }, typesChild);
    expect(stderr).not.toMatch(/CONNECTION_DESTROYED|triggerUncaughtException/);
    expect(stdout).toContain('query during the type fetch: CONNECTION_DESTROYED');
    expect(stdout).toContain('survived');
    expect(code).toBe(0);
  }, 30_000);
});
