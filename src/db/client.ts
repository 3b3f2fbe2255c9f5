import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.ts';
import { lockDataDir, prepareDataDir, tightenFiles } from './datadir.ts';
import type { Config } from '../config.ts';
import { DatabaseHealth, LATE, ProbeTimeoutError, withinDeadline, type PoolUsage } from './health.ts';

export type Orm = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Plain SQL on one connection: what bulk loading and hand-tuned analytics need beyond the ORM. */
export interface SqlSession {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Multi-statement SQL without parameters. */
  exec(text: string): Promise<void>;
  /** Bulk-load CSV text (no header) into `table(columns)` with COPY: ~10x faster than INSERTs. */
  copyCsv(table: string, columns: readonly string[], csv: string): Promise<void>;
}

export interface Database extends SqlSession {
  readonly kind: 'pglite' | 'postgres';
  readonly orm: Orm;
  /** Runs `fn` in one transaction on one connection (temp tables and COPY stay on it). */
  transaction<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` while holding a lock named `name` across every process on this database
   * (a Postgres advisory lock on a reserved connection), so work that must happen once across
   * replicas does. PGlite has one process per data directory (its lock file): the lock is held
   * within that process.
   */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Whether the database answers now, known without asking it (src/db/health.ts). */
  readonly health: DatabaseHealth;
  /** Most connections this process opens (pool saturation = busy / this). */
  readonly poolMax: number;
  close(): Promise<void>;
}

export const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

function copyStatement(table: string, columns: readonly string[], source: string): string {
  return `COPY ${table} (${columns.join(', ')}) FROM ${source} WITH (FORMAT csv, NULL '')`;
}

function pgliteSession(pg: Pick<PGlite, 'query' | 'exec'>): SqlSession {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await pg.query<T>(text, params)).rows;
    },
    async exec(text) {
      await pg.exec(text);
    },
    async copyCsv(table, columns, csv) {
      await pg.query(copyStatement(table, columns, "'/dev/blob'"), [], { blob: new Blob([csv]) });
    },
  };
}

function postgresSession(sql: postgres.Sql | postgres.TransactionSql): SqlSession {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as T[];
    },
    async exec(text) {
      await sql.unsafe(text).simple();
    },
    async copyCsv(table, columns, csv) {
      const writable = await sql.unsafe(copyStatement(table, columns, 'STDIN')).writable();
      await pipeline(Readable.from([csv]), writable);
    },
  };
}

/**
 * PGlite and its Drizzle driver, loaded only when an embedded database is opened: a replica on
 * Postgres would otherwise carry PGlite's WASM module (about 40 MB of RSS) for nothing.
 */
const pgliteModules = async () => {
  const [{ PGlite }, { drizzle }, { migrate }] = await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite'), import('drizzle-orm/pglite/migrator')]);
  return { PGlite, drizzle, migrate };
};

async function pgliteDatabase(pg: PGlite, close: () => Promise<void>): Promise<Database> {
  const orm = (await pgliteModules()).drizzle(pg, { schema }) as unknown as Orm;
  return {
    kind: 'pglite',
    orm,
    ...pgliteSession(pg),
    transaction: (fn) => pg.transaction((tx) => fn(pgliteSession(tx))),
    withLock: inProcessLocks(),
    health: DatabaseHealth.alwaysUp(),
    poolMax: 1,
    close,
  };
}

/** Named locks within this process: calls with one name run one after another. */
function inProcessLocks(): Database['withLock'] {
  const tails = new Map<string, Promise<unknown>>();
  return async (name, fn) => {
    const run = (tails.get(name) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => {});
    tails.set(name, tail);
    try {
      return await run;
    } finally {
      if (tails.get(name) === tail) tails.delete(name);
    }
  };
}

/**
 * An embedded database. A directory is created 0700 and locked for this process until close
 * (src/db/datadir.ts says why); a second opener gets DataDirLockedError naming the holder.
 */
export async function openPglite(dataDir: string): Promise<Database> {
  const { PGlite } = await pgliteModules();
  if (dataDir.startsWith('memory://')) {
    const pg = await PGlite.create(dataDir);
    return pgliteDatabase(pg, () => pg.close());
  }
  prepareDataDir(dataDir);
  const lock = lockDataDir(dataDir);
  let pg: PGlite;
  try {
    pg = await PGlite.create(dataDir);
    tightenFiles(dataDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  return pgliteDatabase(pg, async () => {
    try {
      await pg.close();
      tightenFiles(dataDir);
    } finally {
      lock.release();
    }
  });
}

/**
 * Bounds on a database that is away: a connection attempt gives up after CONNECT_TIMEOUT_S and
 * reconnects back off to at most a second (the driver's default grows to 20 s, which held
 * queued queries that long), so a call fails within seconds instead of hanging.
 */
const CONNECT_TIMEOUT_S = 2;
const PROBE_TIMEOUT_MS = 1_000;
const reconnectBackoff = (retries: number) => Math.min(0.05 * 2 ** retries, 1);

/** Names this process's connections on the server, so the health probe can count them. */
function applicationName(): string {
  return `storecast:${hostname()}:${process.pid}`.slice(0, 63);
}

function postgresHealth(url: string, appName: string): { health: DatabaseHealth; end: () => Promise<void> } {
  // A connection of its own: a pool busy with long queries must not read as a database away.
  const connect = () => postgres(url, { max: 1, connect_timeout: 2, backoff: reconnectBackoff, onnotice: () => {}, connection: { application_name: `${appName}:probe` } });
  let probe = connect();
  const health = new DatabaseHealth({
    timeoutMs: PROBE_TIMEOUT_MS,
    probe: async () => {
      const client = probe;
      try {
        const rows = await withinDeadline(
          client<PoolUsage[]>`
            SELECT count(*)::int AS open, count(*) FILTER (WHERE state <> 'idle')::int AS busy
            FROM pg_stat_activity WHERE application_name = ${appName}`,
          PROBE_TIMEOUT_MS - 50,
        );
        if (rows === LATE) throw new ProbeTimeoutError();
        return rows[0];
      } catch (err) {
        // A fresh client for the next probe: whatever state this one's connection is in cannot stick.
        if (probe === client) {
          probe = connect();
          void client.end({ timeout: 0 }).catch(() => {});
        }
        throw err;
      }
    },
  });
  health.start();
  return {
    health,
    end: async () => {
      health.stop();
      await probe.end({ timeout: 1 });
    },
  };
}

export async function openPostgres(url: string, options: { max?: number; statementTimeoutMs?: number } = {}): Promise<Database> {
  const appName = applicationName();
  // statement_timeout and jit ride on each connection's startup parameters: no round trip per query.
  // JIT off: our queries are index reads and aggregates of at most a few hundred thousand rows,
  // where compiling takes longer than running — at 4,600 stores one store's department list took
  // 740 ms with JIT (0.4-1.3 s of compiling whenever the planner's estimate passed jit_above_cost,
  // as after a bulk load before ANALYZE) and 30 ms without (issue #22, docs/scale.md).
  const connection = { application_name: appName, jit: 'off', ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}) };
  const max = options.max ?? 10;
  const sql = postgres(url, { max, onnotice: () => {}, connection, connect_timeout: CONNECT_TIMEOUT_S, backoff: reconnectBackoff });
  const orm = drizzlePostgres(sql, { schema }) as unknown as Orm;
  const { health, end } = postgresHealth(url, appName);
  return {
    kind: 'postgres',
    orm,
    ...postgresSession(sql),
    transaction: (fn) => sql.begin((tx) => fn(postgresSession(tx))) as Promise<never>,
    async withLock(name, fn) {
      const reserved = await sql.reserve();
      try {
        await reserved`SELECT pg_advisory_lock(hashtext(${name}))`;
        return await fn();
      } finally {
        // A backend that died took the lock with it; the patched driver settles this with CONNECTION_CLOSED.
        await reserved`SELECT pg_advisory_unlock(hashtext(${name}))`.catch(() => {});
        reserved.release();
      }
    },
    health,
    poolMax: max,
    close: async () => {
      await end();
      await sql.end({ timeout: 5 });
    },
  };
}

/**
 * Applies drizzle-kit's migrations. On shared Postgres an advisory lock, held on a dedicated
 * connection, keeps replicas that start together (or a migration Job and a replica) from
 * migrating twice: the second waits, then finds nothing left to apply.
 */
export async function migrate(db: Database, postgresUrl?: string): Promise<void> {
  if (db.kind === 'pglite') {
    await (await pgliteModules()).migrate(db.orm as never, { migrationsFolder });
    return;
  }
  if (!postgresUrl) throw new Error('migrate: the Postgres URL is required');
  const sql = postgres(postgresUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`SELECT pg_advisory_lock(7261001)`;
    await migratePostgres(drizzlePostgres(sql), { migrationsFolder });
    await sql`SELECT pg_advisory_unlock(7261001)`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Where the schema stands against this release's migrations (drizzle/meta/_journal.json). */
export interface SchemaState {
  /** Migrations recorded in the database (a newer release's included). */
  applied: number;
  /** This release's migrations. */
  known: number;
  /** Whether every migration this release knows is applied. */
  current: boolean;
}

export async function schemaState(db: SqlSession): Promise<SchemaState> {
  const known = readMigrationFiles({ migrationsFolder }).map((m) => m.folderMillis);
  const [table] = await db.query<{ exists: boolean }>(`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS exists`);
  if (!table?.exists) return { applied: 0, known: known.length, current: known.length === 0 };
  // drizzle applies what is newer than the last row: a release is current when its last migration is in.
  const [row] = await db.query<{ applied: number; last: string | null }>('SELECT count(*)::int AS applied, max(created_at)::text AS last FROM drizzle.__drizzle_migrations');
  return { applied: row?.applied ?? 0, known: known.length, current: Number(row?.last ?? 0) >= Math.max(0, ...known) };
}

export class SchemaBehindError extends Error {
  constructor(readonly state: SchemaState) {
    super(`The database schema has ${state.applied} of this release's ${state.known} migrations and STORECAST_MIGRATE=false: run \`storecast migrate\` (the migration Job) first.`);
    this.name = 'SchemaBehindError';
  }
}

/** How a process that does not migrate (STORECAST_MIGRATE=false) meets a schema behind it. */
export interface SchemaWait {
  /** Told once when waiting starts, then every minute. */
  warn(fields: object, message: string): void;
  pollMs?: number;
}

/**
 * Refuses (SchemaBehindError) or, for a serving replica, waits until `storecast migrate` has
 * brought the schema to this release: it keeps /readyz at 503 meanwhile, and a rollout waits.
 */
async function awaitSchema(db: Database, wait: SchemaWait | undefined): Promise<void> {
  const started = Date.now();
  let told = -Infinity;
  for (;;) {
    const state = await schemaState(db);
    if (state.current) return;
    if (!wait) throw new SchemaBehindError(state);
    if (Date.now() - told >= 60_000) {
      told = Date.now();
      wait.warn({ ...state, waitedS: Math.round((Date.now() - started) / 1000) }, 'waiting for `storecast migrate`: the schema is behind this release and STORECAST_MIGRATE=false');
    }
    await new Promise((resolve) => setTimeout(resolve, wait.pollMs ?? 2000));
  }
}

/**
 * Opens the configured database, migrated (STORECAST_MIGRATE, the default) or checked to be at
 * this release's schema: refused at once, or awaited when `options.waitForSchema` is given.
 * Nothing about the data: its opener builds missing aggregates (data/rollup.ts ensureAggregates,
 * in startServer and withCli), so this layer knows nothing above it.
 */
export async function openDatabase(config: Pick<Config, 'database'> & Partial<Pick<Config, 'migrateOnStart'>>, options: { waitForSchema?: SchemaWait } = {}): Promise<Database> {
  const db =
    config.database.kind === 'postgres'
      ? await openPostgres(config.database.url, { max: config.database.poolSize, statementTimeoutMs: config.database.statementTimeoutMs })
      : await openPglite(config.database.dataDir);
  try {
    if (config.migrateOnStart === false) await awaitSchema(db, options.waitForSchema);
    else await migrate(db, config.database.kind === 'postgres' ? config.database.url : undefined);
  } catch (err) {
    await db.close(); // and so release the data directory's lock
    throw err;
  }
  return db;
}
