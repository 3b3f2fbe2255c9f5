import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, migrationsFolder, openDatabase, openPostgres, schemaState, SchemaBehindError } from '../src/db/client.ts';
import { TEST_DATABASE_URL } from './helpers/db.ts';

/**
 * Migrations once per release (docs/deploy.md#migrations): `storecast migrate` applies them under
 * a lock, replicas with STORECAST_MIGRATE=false refuse or wait until the schema is at their
 * release, and every migration after the baseline is additive, so the previous release's
 * replicas keep answering on the migrated schema during a rollout.
 */

/** The last migration written before the additive rule; later ones are checked. */
const ADDITIVE_BASELINE = 12;

/**
 * Statements a replica of the previous release can break on: it still reads and writes the old
 * names, types and nullability until it is replaced.
 */
const BREAKING: [RegExp, string][] = [
  [/\bDROP\s+(TABLE|VIEW|MATERIALIZED\s+VIEW|TYPE|SCHEMA|FUNCTION)\b/i, 'drops an object the previous release uses'],
  [/\bALTER\s+TABLE\b[^;]*\bDROP\s+(COLUMN\b|(?!CONSTRAINT|DEFAULT|NOT\s+NULL)\S)/i, 'drops a column'],
  [/\bRENAME\b/i, 'renames (the previous release still uses the old name)'],
  [/\bALTER\s+COLUMN\b[^;]*\b(SET\s+DATA\s+)?TYPE\b/i, "changes a column's type"],
  [/\bALTER\s+COLUMN\b[^;]*\bSET\s+NOT\s+NULL\b/i, 'makes a column NOT NULL (the previous release may insert without it)'],
  [/\bADD\s+COLUMN\b(?![^;]*\bDEFAULT\b)[^;]*\bNOT\s+NULL\b/i, 'adds a NOT NULL column without a default'],
  [/\bALTER\s+TYPE\b[^;]*\b(RENAME|DROP)\b/i, 'changes an enum the previous release writes'],
];

/**
 * Statements that match BREAKING but change nothing the previous release sees, per migration.
 * 0017 rebuilds weekly_sales partitioned under the same name, columns and primary key: the old
 * table is renamed aside, copied and dropped inside the migration's transaction, and the
 * previous release's writes of a quarter without a partition land in weekly_sales_default.
 */
const NOT_BREAKING: Record<string, RegExp> = {
  '0017_weekly_sales_partitions.sql': /"weekly_sales_unpartitioned"/,
};

function nonAdditive(sql: string, exempt?: RegExp): string[] {
  const statements = sql.split(/--> statement-breakpoint|;\s*\n/).map((s) => s.trim()).filter((s) => s && !exempt?.test(s));
  return statements.flatMap((s) => BREAKING.filter(([re]) => re.test(s)).map(([, why]) => `${why}: ${s.slice(0, 120)}`));
}

describe('additive migrations', () => {
  it('the check finds what would break the previous release, and passes what would not', () => {
    expect(nonAdditive('ALTER TABLE "sales" DROP COLUMN "weekly_sales";')).toHaveLength(1);
    expect(nonAdditive('ALTER TABLE "sales" RENAME COLUMN "a" TO "b";')).toHaveLength(1);
    expect(nonAdditive('ALTER TABLE "sales" ALTER COLUMN "a" SET DATA TYPE bigint;')).toHaveLength(1);
    expect(nonAdditive('ALTER TABLE "sales" ALTER COLUMN "a" SET NOT NULL;')).toHaveLength(1);
    expect(nonAdditive('ALTER TABLE "sales" ADD COLUMN "a" integer NOT NULL;')).toHaveLength(1);
    expect(nonAdditive('DROP TABLE "sales" CASCADE;')).toHaveLength(1);
    expect(nonAdditive('ALTER TABLE "sales" ADD COLUMN "a" integer DEFAULT 0 NOT NULL;')).toEqual([]);
    expect(nonAdditive('ALTER TABLE "sales" ADD COLUMN "note" text;--> statement-breakpoint\nCREATE INDEX "x" ON "sales" ("a");')).toEqual([]);
    expect(nonAdditive('ALTER TABLE "sales" ALTER COLUMN "a" DROP NOT NULL;')).toEqual([]);
    expect(nonAdditive('ALTER TABLE "sales" DROP CONSTRAINT "sales_a_check";')).toEqual([]);
    // An exemption covers only the statements it names.
    expect(nonAdditive('ALTER TABLE "a" RENAME TO "a_old";--> statement-breakpoint\nDROP TABLE "b";', /"a_old"/)).toHaveLength(1);
  });

  it(`every migration after ${String(ADDITIVE_BASELINE).padStart(4, '0')} is additive`, () => {
    const files = readdirSync(migrationsFolder).filter((f) => /^\d{4}_.*\.sql$/.test(f));
    expect(files.length).toBeGreaterThan(ADDITIVE_BASELINE);
    const problems = files
      .filter((f) => Number(f.slice(0, 4)) > ADDITIVE_BASELINE)
      .flatMap((f) => nonAdditive(readFileSync(join(migrationsFolder, f), 'utf8'), NOT_BREAKING[f]).map((p) => `${f}: ${p}`));
    // A breaking change ships in two releases: add (this one), stop using the old (next), drop (the one after).
    expect(problems).toEqual([]);
  });
});

/** Each CLI start compiles the sources (tsx): ~5 s alone, 20 s and more on a busy 2-core machine. */
const CLI_TIMEOUT = 240_000;
const bin = fileURLToPath(new URL('../bin/storecast.js', import.meta.url));
const run = async (args: string[], env: Record<string, string>) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('storecast migrate and STORECAST_MIGRATE=false on Postgres', () => {
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  const names: string[] = [];
  const freshDatabase = async () => {
    const name = `sc_test_${randomBytes(6).toString('hex')}`;
    await admin.unsafe(`CREATE DATABASE ${name}`);
    names.push(name);
    const u = new URL(TEST_DATABASE_URL);
    u.pathname = `/${name}`;
    return u.toString();
  };
  afterAll(async () => {
    for (const name of names) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end({ timeout: 5 });
  });

  it('a replica that does not migrate refuses a schema behind it, then opens once `storecast migrate` ran', async () => {
    const url = await freshDatabase();
    const config = { database: { kind: 'postgres' as const, url }, migrateOnStart: false };
    const refused = await openDatabase(config).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(SchemaBehindError);
    expect((refused as Error).message).toMatch(/0 of this release's \d+ migrations.*storecast migrate/);

    const cli = await run(['stats'], { DATABASE_URL: url, STORECAST_MIGRATE: 'false' });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/run `storecast migrate`/);

    const migrated = await run(['migrate'], { DATABASE_URL: url, STORECAST_MIGRATE: 'false' });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/^applied \d+ migrations; the schema has (\d+) migrations \(this release knows \1\)/);
    expect((await run(['migrate'], { DATABASE_URL: url })).stdout).toMatch(/^nothing to apply/);

    const db = await openDatabase(config);
    expect((await schemaState(db)).current).toBe(true);
    await db.close();
  }, CLI_TIMEOUT);

  it('a waiting replica opens as soon as the migration lands; two migrations at once apply each migration once', async () => {
    const url = await freshDatabase();
    const warnings: object[] = [];
    let opened = false;
    const waiting = openDatabase({ database: { kind: 'postgres', url }, migrateOnStart: false }, { waitForSchema: { warn: (f) => warnings.push(f), pollMs: 50 } }).then((db) => {
      opened = true;
      return db;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(opened).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ applied: 0, current: false });

    const [a, b] = [await openPostgres(url, { max: 2 }), await openPostgres(url, { max: 2 })];
    await Promise.all([migrate(a, url), migrate(b, url)]);
    const state = await schemaState(a);
    expect(state).toEqual({ applied: state.known, known: state.known, current: true });
    const db = await waiting;
    expect(opened).toBe(true);
    await Promise.all([db.close(), a.close(), b.close()]);
  });

  it('a schema migrated ahead by the next release still counts as current for this one', async () => {
    const url = await freshDatabase();
    const db = await openPostgres(url, { max: 2 });
    await migrate(db, url);
    await db.query(`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('next-release', $1)`, [Date.now() + 86_400_000]);
    const state = await schemaState(db);
    expect(state).toMatchObject({ applied: state.known + 1, current: true });
    await db.close();
    const replica = await openDatabase({ database: { kind: 'postgres', url }, migrateOnStart: false });
    await replica.close();
  });
});

describe('storecast migrate on the embedded database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'storecast-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses without migrating when told not to, then migrates the data directory', async () => {
    const env = { DATABASE_URL: '', STORECAST_DATA_DIR: join(dir, 'data') };
    const refused = await run(['stats'], { ...env, STORECAST_MIGRATE: 'false' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/STORECAST_MIGRATE=false: run `storecast migrate`/);
    const migrated = await run(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(/^applied \d+ migrations/);
    expect((await run(['stats', '--json'], { ...env, STORECAST_MIGRATE: 'false' })).code).toBe(0);
  }, CLI_TIMEOUT);
});
