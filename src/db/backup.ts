import { createReadStream, createWriteStream } from 'node:fs';
import { access, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Database, SqlSession } from './client.ts';
import { addSalesPartitions } from './partitions.ts';

/**
 * `storecast backup FILE` / `storecast restore FILE`: every table of the public schema, found
 * in the database's catalog (so tables added later are covered without a list to update),
 * read in one REPEATABLE READ snapshot and streamed as gzip'd JSON lines:
 *
 *   {"format":"storecast-backup","version":1,"createdAt":...,"source":"pglite","tables":[...]}
 *   {"table":"stores","columns":["store_id",...]}
 *   {...one row, as Postgres' row_to_json writes it...}
 *   {"end":"stores","rows":45}
 *
 * Rows go back through json_populate_recordset, so bytea (model weights), jsonb, arrays and
 * timestamps round-trip exactly, between PGlite and Postgres in either direction.
 */

export const BACKUP_FORMAT = 'storecast-backup';
export const BACKUP_VERSION = 1;
/** Rows per FETCH and per restore INSERT. */
const PAGE = 5000;

type Query = Pick<SqlSession, 'query'>;

/**
 * Base tables of the public schema, parents before the tables whose foreign keys point at them.
 * A partitioned table is one table: its partitions (weekly_sales_2012q4, ...) are not listed,
 * their rows are read and written through it.
 */
export async function listTables(db: Query): Promise<string[]> {
  const tables = (
    await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
    )
  ).map((r) => r.name);
  const deps = await db.query<{ child: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE c.contype = 'f' AND n.nspname = 'public'`,
  );
  const unquote = (s: string) => s.replace(/^"|"$/g, '');
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (t: string) => {
    if (order.includes(t) || visiting.has(t)) return;
    visiting.add(t);
    for (const d of deps) if (unquote(d.child) === t && unquote(d.parent) !== t) visit(unquote(d.parent));
    order.push(t);
  };
  tables.forEach(visit);
  return order;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function columnsOf(db: Query, table: string): Promise<string[]> {
  return (await db.query<{ name: string }>(`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, [table])).map((r) => r.name);
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

export interface BackupSummary {
  file: string;
  tables: { name: string; rows: number }[];
  bytes?: number;
}

/** Streams every table to `out` (gzip) inside one read-only snapshot. */
export async function backupTo(db: Database, out: Writable, onTable?: (name: string, rows: number) => void): Promise<{ name: string; rows: number }[]> {
  const gzip = createGzip();
  gzip.pipe(out);
  const summary: { name: string; rows: number }[] = [];
  try {
    await snapshot(db, gzip, summary, onTable);
  } catch (err) {
    // A half-written file must not pass for a backup: no end marker, and the stream errors.
    gzip.destroy(err as Error);
    out.destroy(err as Error);
    throw err;
  }
  gzip.end();
  await finished(out);
  return summary;
}

async function snapshot(db: Database, gzip: Writable, summary: { name: string; rows: number }[], onTable?: (name: string, rows: number) => void): Promise<void> {
  await db.transaction(async (tx) => {
    // One snapshot for every table: rows written while the backup runs are all in or all out.
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await tx.query(`SET LOCAL TimeZone = 'UTC'`);
    const tables = await listTables(tx);
    await write(gzip, `${JSON.stringify({ format: BACKUP_FORMAT, version: BACKUP_VERSION, createdAt: new Date().toISOString(), source: db.kind, tables })}\n`);
    for (const table of tables) {
      await write(gzip, `${JSON.stringify({ table, columns: await columnsOf(tx, table) })}\n`);
      let rows = 0;
      // A cursor in the snapshot's transaction: constant memory, one pass over the table.
      await tx.query(`DECLARE backup_rows NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS j FROM ${ident(table)} t`);
      for (;;) {
        const page = await tx.query<{ j: string }>(`FETCH ${PAGE} FROM backup_rows`);
        if (page.length === 0) break;
        await write(gzip, page.map((r) => r.j).join('\n') + '\n');
        rows += page.length;
      }
      await tx.query('CLOSE backup_rows');
      await write(gzip, `${JSON.stringify({ end: table, rows })}\n`);
      summary.push({ name: table, rows });
      onTable?.(table, rows);
    }
  });
}

/**
 * Written to a new owner-only file beside FILE, then renamed over it: a backup holds token
 * hashes and encrypted secrets, and `mode` applies only to a file being created (an existing
 * 0644 FILE would stay readable), and a failed run must not leave half a backup under FILE.
 */
export async function backupToFile(db: Database, file: string, onTable?: (name: string, rows: number) => void): Promise<BackupSummary> {
  const partial = `${file}.partial-${process.pid}`;
  try {
    const tables = await backupTo(db, createWriteStream(partial, { mode: 0o600, flags: 'wx' }), onTable);
    await rename(partial, file);
    return { file, tables };
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

export class RestoreRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefused';
  }
}

async function nonEmptyTables(db: Query, tables: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const t of tables) if ((await db.query(`SELECT 1 FROM ${ident(t)} LIMIT 1`)).length) out.push(t);
  return out;
}

/** Identity and serial columns continue after the restored rows. */
async function resetSequences(tx: Query, tables: string[]): Promise<void> {
  for (const table of tables) {
    const cols = await tx.query<{ col: string; seq: string | null }>(
      `SELECT column_name AS col, pg_get_serial_sequence($1, column_name) AS seq FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $2`,
      [ident(table), table],
    );
    for (const { col, seq } of cols) {
      if (!seq) continue;
      await tx.query(`SELECT setval($1, coalesce((SELECT max(${ident(col)}) FROM ${ident(table)}), 0) + 1, false)`, [seq]);
    }
  }
}

/**
 * Tables whose rows let someone in: API tokens (the operator's among them), grants, console
 * sign-in links and sessions. A backup is a file that travels, so a restore plants none of
 * them unless asked (`--with-credentials`); without that, the target's own are kept as they are.
 */
export const CREDENTIAL_TABLES: readonly string[] = ['api_tokens', 'access_grants', 'console_login_tokens', 'console_sessions'];

/** A reason to leave a row out of a restore, or undefined to keep it. */
export type RowCheck = (row: Record<string, unknown>) => string | undefined;

export interface RestoreOptions {
  /** Empty a non-empty database first (TRUNCATE every table). */
  force?: boolean;
  /** Restore CREDENTIAL_TABLES too (and replace the target's). */
  withCredentials?: boolean;
  /** Per table, rows to leave out (the CLI checks chart specs: src/cli/backup.ts). */
  checks?: Record<string, RowCheck>;
  onTable?: (name: string, rows: number) => void;
  /** A table, or rows of one, left out: how many and why. */
  onSkip?: (name: string, rows: number, reason: string) => void;
}

interface Current {
  table: string;
  columns: string[];
  /** Rows read from the file (checked against the end marker). */
  read: number;
  rows: number;
  batch: string[];
  skip?: string;
  check?: RowCheck;
  dropped: Map<string, number>;
}

/** The table section a `{"table":...}` line opens, checked against this database's schema. */
async function openTable(tx: Query, line: string, targetTables: string[], options: RestoreOptions): Promise<Current> {
  const t = JSON.parse(line) as { table: string; columns: string[] };
  if (!targetTables.includes(t.table)) throw new RestoreRefused(`the backup has table ${t.table}, which this database does not: run a storecast as new as the one that wrote it`);
  const have = new Set(await columnsOf(tx, t.table));
  const missing = t.columns.filter((c) => !have.has(c));
  if (missing.length) throw new RestoreRefused(`table ${t.table} lacks column(s) ${missing.join(', ')} that the backup has`);
  const skip = !options.withCredentials && CREDENTIAL_TABLES.includes(t.table) ? 'credentials (restore them with --with-credentials)' : undefined;
  return { table: t.table, columns: t.columns, read: 0, rows: 0, batch: [], skip, check: options.checks?.[t.table], dropped: new Map() };
}

/** One row line into the current table's batch, unless the table is skipped or the row fails its check. */
function takeRow(current: Current, line: string): void {
  current.read++;
  if (current.skip) return;
  const why = current.check?.(JSON.parse(line) as Record<string, unknown>);
  if (why) {
    current.dropped.set(why, (current.dropped.get(why) ?? 0) + 1);
    return;
  }
  current.batch.push(line);
  current.rows++;
}

function closeTable(current: Current | undefined, line: string, summary: { name: string; rows: number }[], options: RestoreOptions): void {
  const e = JSON.parse(line) as { end: string; rows: number };
  if (!current || e.end !== current.table || e.rows !== current.read) throw new RestoreRefused(`backup damaged: table ${e.end} should have ${e.rows} rows, read ${current?.read ?? 0}`);
  if (current.skip) {
    options.onSkip?.(current.table, current.read, current.skip);
    return;
  }
  for (const [why, n] of current.dropped) options.onSkip?.(current.table, n, why);
  summary.push({ name: current.table, rows: current.rows });
  options.onTable?.(current.table, current.rows);
}

/**
 * Loads a backup into a migrated database, in one transaction: all of it or nothing. Refuses
 * a database holding any row unless forced, and a backup naming a table this schema lacks.
 * Credentials are left out unless `withCredentials`, and rows failing `checks` are dropped;
 * both are reported through `onSkip`.
 */
export async function restoreFrom(db: Database, lines: AsyncIterable<string>, options: RestoreOptions = {}): Promise<{ name: string; rows: number }[]> {
  const allTables = await listTables(db);
  // Without --with-credentials the target's credentials stay: neither emptied nor in the way.
  const targetTables = options.withCredentials ? allTables : allTables.filter((t) => !CREDENTIAL_TABLES.includes(t));
  const busy = await nonEmptyTables(db, targetTables);
  if (busy.length && !options.force) throw new RestoreRefused(`the database is not empty (${busy.slice(0, 5).join(', ')}${busy.length > 5 ? ', …' : ''} hold rows); restore into an empty one, or pass --force to replace everything`);
  const summary: { name: string; rows: number }[] = [];
  await db.transaction(async (tx) => {
    await tx.query(`SET LOCAL TimeZone = 'UTC'`);
    if (busy.length) await tx.query(`TRUNCATE ${targetTables.map(ident).join(', ')} RESTART IDENTITY CASCADE`);
    let header = false;
    let current: Current | undefined;
    const flush = async () => {
      if (!current?.batch.length) return;
      const cols = current.columns.map(ident).join(', ');
      // Each quarter's rows go to its own partition, made first (else into the default one).
      if (current.table === 'weekly_sales') await addSalesPartitions(tx, current.batch.map((row) => /"week":"(\d{4}-\d\d)/.exec(row)?.[1] ?? '').filter(Boolean));
      await tx.query(`INSERT INTO ${ident(current.table)} (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::${ident(current.table)}, $1::json)`, [`[${current.batch.join(',')}]`]);
      current.batch = [];
    };
    for await (const line of lines) {
      if (!line) continue;
      if (!header) {
        const h = JSON.parse(line) as { format?: string; version?: number };
        if (h.format !== BACKUP_FORMAT) throw new RestoreRefused('not a storecast backup (no storecast-backup header)');
        if (h.version !== BACKUP_VERSION) throw new RestoreRefused(`backup format version ${h.version}; this storecast reads version ${BACKUP_VERSION}`);
        header = true;
      } else if (line.startsWith('{"table":')) {
        current = await openTable(tx, line, allTables, options);
      } else if (line.startsWith('{"end":')) {
        await flush();
        closeTable(current, line, summary, options);
        current = undefined;
      } else {
        if (!current) throw new RestoreRefused('backup damaged: a row outside any table');
        takeRow(current, line);
        if (current.batch.length >= PAGE) await flush();
      }
    }
    if (!header) throw new RestoreRefused('the file is empty');
    if (current) throw new RestoreRefused(`backup truncated inside table ${current.table}`);
    await resetSequences(tx, summary.map((s) => s.name));
  });
  return summary;
}

export async function restoreFromFile(db: Database, file: string, options: RestoreOptions = {}): Promise<{ name: string; rows: number }[]> {
  await access(file); // a missing file fails here with ENOENT, before the database is touched
  const raw = createReadStream(file);
  const input = raw.pipe(createGunzip());
  raw.once('error', (err) => input.destroy(err));
  const lines = createInterface({ input, crlfDelay: Infinity });
  // Attach the iterator now: readline emits lines as soon as the file flows, and lines emitted
  // before an iterator exists are lost (the checks before the load await network I/O).
  const iterator = lines[Symbol.asyncIterator]();
  try {
    return await restoreFrom(db, { [Symbol.asyncIterator]: () => iterator }, options);
  } finally {
    lines.close();
    input.destroy();
  }
}

/**
 * Row count and an order-independent checksum per table (md5 of the sorted row texts), read
 * in one snapshot: two databases holding the same rows give the same figures.
 */
export async function tableChecksums(db: Database): Promise<Record<string, { rows: number; md5: string }>> {
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await tx.query(`SET LOCAL TimeZone = 'UTC'`);
    const out: Record<string, { rows: number; md5: string }> = {};
    for (const t of await listTables(tx)) {
      const [r] = await tx.query<{ n: number; md5: string | null }>(
        `SELECT count(*)::int AS n, md5(coalesce(string_agg(j, E'\\n' ORDER BY j COLLATE "C"), '')) AS md5 FROM (SELECT row_to_json(t)::text AS j FROM ${ident(t)} t) x`,
      );
      out[t] = { rows: Number(r?.n ?? 0), md5: r?.md5 ?? '' };
    }
    return out;
  });
}
