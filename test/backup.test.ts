import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { backupToFile, listTables, restoreFromFile, RestoreRefused, tableChecksums } from '../src/db/backup.ts';
import type { Database } from '../src/db/client.ts';
import { createTestDatabase, openTestDatabase, type TestDatabase } from './helpers/db.ts';

/**
 * Backup and restore between PGlite and Postgres, both ways, on demo data plus one row of each
 * kind the product keeps (a model's weights, a token hash, a grant, an encrypted webhook, the
 * audit log) and a table no code knows about (as another branch may add).
 */
describe('storecast backup / restore', () => {
  let source: Database;
  let dir: string;
  const open: TestDatabase[] = [];
  const fresh = async (kind: 'pglite' | 'postgres') => {
    const t = await createTestDatabase(kind);
    open.push(t);
    await t.db.exec('CREATE TABLE later_feature (id integer PRIMARY KEY, note text, payload jsonb)');
    return t.db;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'storecast-backup-'));
    source = await openTestDatabase([1]);
    await source.exec('CREATE TABLE later_feature (id integer PRIMARY KEY, note text, payload jsonb)');
    await source.query(`INSERT INTO later_feature VALUES (1, 'quote '' and tab\t and é', '{"a":[1,2.5,null]}')`);
    const weights = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    await source.query(`INSERT INTO model_registry (status, active, artifacts, weights, metrics, train_until) VALUES ('ready', true, '{"meta":{"x":1}}', $1, '{"valWmae": 1234.5678901234}', '2012-10-26')`, [weights]);
    await createToken(source, { name: 'ingest bot', scopes: ['ingest'] });
    await source.query(`INSERT INTO access_grants (id, principal, role, scope_kind, scope_value) VALUES ('g1', 'slack:T1/U1', 'manager', 'store', '1')`);
    await source.query(
      `INSERT INTO webhook_subscriptions (id, scope_kind, target_kind, target_secret, target_hint, weekday, time, timezone, next_run_at, created_by_roles)
       VALUES ('s1', 'store', 'generic', 'v1:aaa:bbb:ccc', 'hooks.example.com …abc', 1, '08:00', 'Europe/Berlin', now(), '{r1,r2}')`,
    );
    await source.query(`INSERT INTO audit_log (principal, platform, command, outcome, latency_ms) VALUES ('cli', 'cli', 'storecast demo', 'ok', 12)`);
  }, 120_000);
  afterAll(async () => {
    await source?.close();
    for (const t of open) await t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('covers every table of the schema, found in the catalog (one added later included)', async () => {
    const file = join(dir, 'all.jsonl.gz');
    const { tables } = await backupToFile(source, file);
    expect(tables.map((t) => t.name).sort()).toEqual((await listTables(source)).sort());
    expect(tables.map((t) => t.name)).toContain('later_feature');
    // Parents before children: deliveries reference subscriptions.
    const names = tables.map((t) => t.name);
    expect(names.indexOf('webhook_subscriptions')).toBeLessThan(names.indexOf('webhook_deliveries'));
    const text = gunzipSync(readFileSync(file)).toString('utf8');
    expect(JSON.parse(text.split('\n')[0]!)).toMatchObject({ format: 'storecast-backup', version: 1, source: 'pglite' });
  });

  it('overwriting a readable file leaves an owner-only backup and no partial file', async () => {
    const file = join(dir, 'over.jsonl.gz');
    writeFileSync(file, 'old', { mode: 0o644 });
    await backupToFile(source, file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(gunzipSync(readFileSync(file)).toString('utf8')).toContain('storecast-backup');
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('PGlite -> Postgres -> PGlite: identical row counts and checksums in every table', async () => {
    const want = await tableChecksums(source);
    expect(want.weekly_sales!.rows).toBeGreaterThan(1000);
    const first = join(dir, 'from-pglite.jsonl.gz');
    await backupToFile(source, first);
    const pg = await fresh('postgres');
    await restoreFromFile(pg, first, { withCredentials: true });
    expect(await tableChecksums(pg)).toEqual(want);
    const second = join(dir, 'from-postgres.jsonl.gz');
    await backupToFile(pg, second);
    const lite = await fresh('pglite');
    await restoreFromFile(lite, second, { withCredentials: true });
    expect(await tableChecksums(lite)).toEqual(want);
    // Weights come back byte for byte; identity and serial columns continue after the restored rows.
    const [row] = await lite.query<{ weights: Uint8Array }>('SELECT weights FROM model_registry WHERE active');
    expect(Buffer.from(row!.weights).equals(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256)))).toBe(true);
    const [audit] = await lite.query<{ id: number }>(`INSERT INTO audit_log (principal, platform, outcome, latency_ms) VALUES ('x', 'cli', 'ok', 1) RETURNING id`);
    const [model] = await pg.query<{ version: number }>(`INSERT INTO model_registry (status) VALUES ('training') RETURNING version`);
    expect(Number(audit!.id)).toBe(want.audit_log!.rows + 1);
    expect(Number(model!.version)).toBe(2);
  }, 120_000);

  it('refuses a database that holds rows unless forced; --force replaces everything', async () => {
    const file = join(dir, 'force.jsonl.gz');
    await backupToFile(source, file);
    const target = await fresh('pglite');
    await target.query(`INSERT INTO stores (store_id) VALUES (99)`);
    await expect(restoreFromFile(target, file)).rejects.toThrow(RestoreRefused);
    await expect(restoreFromFile(target, file)).rejects.toThrow(/not empty \(stores hold rows\).*--force/);
    await restoreFromFile(target, file, { force: true, withCredentials: true });
    expect(await tableChecksums(target)).toEqual(await tableChecksums(source));
  }, 60_000);

  it('leaves credentials out unless asked (keeping the target\'s own), and says so', async () => {
    const file = join(dir, 'creds.jsonl.gz');
    await source.query(`INSERT INTO console_sessions (id_hash, principal, expires_at) VALUES ('h1', 'slack:T1/U1', now() + interval '1 day')`);
    await backupToFile(source, file);
    const target = await fresh('pglite');
    const { token: own } = await createToken(target, { name: 'target operator', scopes: ['admin'] });
    const skipped: string[] = [];
    // The target's own token does not make it "not empty": credentials are not restored over.
    await restoreFromFile(target, file, { onSkip: (name, rows, why) => skipped.push(`${name}:${rows}:${why}`) });
    expect(skipped).toEqual(expect.arrayContaining([expect.stringMatching(/^api_tokens:1:credentials/), expect.stringMatching(/^access_grants:1:credentials/), expect.stringMatching(/^console_sessions:1:credentials/)]));
    const names = (await target.query<{ name: string }>('SELECT name FROM api_tokens')).map((r) => r.name);
    expect(names).toEqual(['target operator']);
    expect(await target.query('SELECT 1 FROM access_grants')).toHaveLength(0);
    expect(await target.query('SELECT 1 FROM console_sessions')).toHaveLength(0);
    expect((await tableChecksums(target)).weekly_sales).toEqual((await tableChecksums(source)).weekly_sales);
    expect(own).toMatch(/^sc_/);
    // Forced, still without credentials: the target's token survives the replacement.
    await restoreFromFile(target, file, { force: true });
    expect((await target.query<{ name: string }>('SELECT name FROM api_tokens')).map((r) => r.name)).toEqual(['target operator']);
    await restoreFromFile(target, file, { force: true, withCredentials: true });
    expect((await target.query<{ name: string }>('SELECT name FROM api_tokens')).map((r) => r.name)).toEqual(['ingest bot']);
    await source.query(`DELETE FROM console_sessions`);
  }, 60_000);

  it('drops rows a check refuses, and reports them', async () => {
    await source.query(`INSERT INTO charts (id, spec, expires_at) VALUES ('planted', '{"data":{"url":"file:///etc/passwd"},"mark":"text"}', now() + interval '1 day'), ('fine', '{"data":{"values":[]},"mark":"bar"}', now() + interval '1 day')`);
    const file = join(dir, 'charts.jsonl.gz');
    await backupToFile(source, file);
    await source.query(`DELETE FROM charts`);
    const target = await fresh('pglite');
    const skipped: string[] = [];
    const checks = { charts: (row: Record<string, unknown>) => (JSON.stringify(row.spec).includes('"url"') ? 'loads a url' : undefined) };
    await restoreFromFile(target, file, { checks, onSkip: (name, rows, why) => skipped.push(`${name}:${rows}:${why}`) });
    expect(skipped).toContain('charts:1:loads a url');
    expect((await target.query<{ id: string }>('SELECT id FROM charts')).map((r) => r.id)).toEqual(['fine']);
  }, 60_000);

  it('a truncated or foreign file is refused and leaves the database as it was', async () => {
    const file = join(dir, 'cut.jsonl.gz');
    await backupToFile(source, file);
    const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
    const cut = join(dir, 'cut-short.jsonl.gz');
    writeFileSync(cut, gzipSync(lines.slice(0, Math.floor(lines.length / 2)).join('\n')));
    const target = await fresh('pglite');
    await expect(restoreFromFile(target, cut)).rejects.toThrow(/truncated|damaged/);
    expect((await target.query('SELECT 1 FROM weekly_sales LIMIT 1')).length).toBe(0);
    const foreign = join(dir, 'foreign.gz');
    writeFileSync(foreign, gzipSync('{"hello":"world"}\n'));
    await expect(restoreFromFile(target, foreign)).rejects.toThrow(/not a storecast backup/);
  }, 60_000);
});
