import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { ensureSalesPartitions } from '../db/partitions.ts';
import { importRuns } from '../db/schema.ts';
import { clip } from '../util/text.ts';
import { readHeader, readRows, type Row } from './csv-reader.ts';
import { acceptedFormats, detectFormat, fieldsOfObject, formatByName, type FileFormat, type RowContext } from './formats.ts';
import { INPUT_LIMITS } from './limits.ts';
import { CHANGED_DDL, lockAggregates, tuneBatch, refreshAggregates } from './rollup.ts';

export interface RejectedRow {
  line: number;
  reason: string;
}

export interface ImportReport {
  source: string;
  format: FileFormat['name'];
  dryRun: boolean;
  rowsRead: number;
  accepted: number;
  inserted: number;
  updated: number;
  /** Accepted rows identical to what was already stored (a re-import). */
  unchanged: number;
  /** Every rejected row counted, including the one where reading stopped. */
  rejectedCount: number;
  /** The first rejected rows (INPUT_LIMITS.listedRejections), in file order. */
  rejected: RejectedRow[];
  /**
   * Set when reading stopped early (a line over the length limit, broken quoting): rows
   * from this line on were not read; the rows before it were imported.
   */
  stoppedAtLine?: number;
  durationMs: number;
  runId?: number;
  /** The stores of the accepted rows (what an import touched: alert rules on them are evaluated). */
  stores: number[];
  /**
   * The store-weeks whose sales changed (their logged forecasts are scored by the "data changed"
   * pipeline, src/data/changed.ts). Internal: API answers leave it out (publicReport).
   */
  changed: { weeks: string[]; stores: number[] };
}

/** The report as an API client sees it: without the internal list of changed store-weeks. */
export function publicReport(report: ImportReport): Omit<ImportReport, 'changed'> {
  const { changed: _changed, ...rest } = report;
  return rest;
}

export interface ImportOptions {
  dryRun?: boolean;
  /** Rows per COPY + upsert transaction. */
  batchSize?: number;
  onProgress?: (p: { source: string; bytesRead: number; totalBytes: number; rows: number }) => void;
}

/** Raised for a whole file that cannot be imported (unrecognised header, unreadable file). */
export class ImportFileError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
    this.name = 'ImportFileError';
  }
}

async function knownStores(db: Database): Promise<Set<number>> {
  const rows = await db.query<{ store_id: number }>('SELECT store_id FROM stores');
  return new Set(rows.map((r) => r.store_id));
}

/** One batch, one transaction: COPY into staging, upsert, and the aggregates it changes. */
async function writeBatch(db: Database, format: FileFormat, csv: string): Promise<{ inserted: number; updated: number; changed: { week: string; store_id: number }[] }> {
  return db.transaction(async (tx) => {
    const feeds = format.aggregates !== 'none';
    await tx.exec(`CREATE TEMP TABLE stg (${format.staging.ddl}) ON COMMIT DROP`);
    await tx.copyCsv('stg', format.staging.columns, csv);
    if (feeds) {
      // Taken after the COPY: staging needs no lock, and other writers wait less.
      await lockAggregates(tx);
      await tuneBatch(tx);
      await tx.exec(CHANGED_DDL);
    }
    let last: { inserted: number; updated: number } | undefined;
    for (const statement of format.upsert) {
      last = (await tx.query<{ inserted: number; updated: number }>(statement))[0];
    }
    // Store totals written directly: every staged store-week may have changed.
    if (format.aggregates === 'store-totals') await tx.exec('INSERT INTO chg (store_id, week) SELECT DISTINCT store_id, week FROM stg');
    // Same transaction: totals that cannot be computed keep the rows they sum out too.
    if (feeds) await refreshAggregates(tx);
    // The store-weeks whose sales changed: the forecasts logged for them are scored after the run.
    const changed = feeds ? await tx.query<{ week: string; store_id: number }>('SELECT DISTINCT week::text AS week, store_id FROM chg') : [];
    return { ...(last ?? { inserted: 0, updated: 0 }), changed };
  });
}

/** The i-th field of a validated row's CSV (its fields never hold commas). */
function field(csv: string, i: number): string {
  let start = 0;
  for (let k = 0; k < i; k++) start = csv.indexOf(',', start) + 1;
  const end = csv.indexOf(',', start);
  return csv.slice(start, end < 0 ? undefined : end);
}

/** Counts every rejection; lists the first few, each reason short (it may quote input). */
function addRejection(report: ImportReport, line: number, reason: string): void {
  report.rejectedCount++;
  if (report.rejected.length < INPUT_LIMITS.listedRejections) report.rejected.push({ line, reason: clip(reason, INPUT_LIMITS.reasonChars) });
}

function emptyReport(source: string, format: FileFormat, dryRun: boolean): ImportReport {
  return { source, format: format.name, dryRun, rowsRead: 0, accepted: 0, inserted: 0, updated: 0, unchanged: 0, rejectedCount: 0, rejected: [], durationMs: 0, stores: [], changed: { weeks: [], stores: [] } };
}

/**
 * Validates rows one by one, then loads them in batches: COPY into a temporary staging table
 * and one upsert on the natural key, each batch in its own transaction. A crash leaves whole
 * batches only, and a re-run rewrites nothing that is already identical.
 */
async function load(
  db: Database,
  format: FileFormat,
  source: string,
  chunks: AsyncIterable<Row[]> | Iterable<Row[]>,
  options: ImportOptions,
): Promise<ImportReport> {
  const started = performance.now();
  const dryRun = options.dryRun ?? false;
  const batchSize = options.batchSize ?? 100_000;
  const ctx: RowContext = { knownStores: await knownStores(db) };
  const report = emptyReport(source, format, dryRun);
  if (!dryRun) {
    const [run] = await db.orm.insert(importRuns).values({ source, format: format.name }).returning({ id: importRuns.id });
    report.runId = run!.id;
  }

  const stores = new Set<number>();
  const changedWeeks = new Set<string>();
  const changedStores = new Set<number>();
  const storeKeyed = format.staging.columns[1] === 'store_id';
  // Formats writing weekly_sales note the months of each batch: their quarters' partitions are made first.
  const weekField = format.aggregates === 'departments' ? format.staging.columns.indexOf('week') - 1 : -1;
  let batch: string[] = [];
  let months = new Set<string>();
  // One batch is written while the next is parsed: on a Postgres server the two overlap.
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (batch.length === 0) return;
    const csv = batch.join('\n') + '\n';
    const count = batch.length;
    const batchMonths = months;
    batch = [];
    months = new Set();
    if (dryRun) return;
    await inFlight;
    inFlight = write(csv, count, batchMonths);
    inFlight.catch(() => {}); // awaited later; this only keeps an early failure from being "unhandled"
  };
  const write = async (csv: string, count: number, batchMonths: Set<string>) => {
    await ensureSalesPartitions(db, batchMonths);
    const result = await writeBatch(db, format, csv);
    for (const c of result.changed) {
      changedWeeks.add(c.week);
      changedStores.add(c.store_id);
    }
    report.inserted += result.inserted;
    report.updated += result.updated;
    report.unchanged += count - result.inserted - result.updated;
  };

  try {
    // Rows arrive in chunks: one await per chunk, not per row, keeps validation CPU-bound.
    for await (const chunk of chunks) {
      for (const row of chunk) {
        report.rowsRead++;
        if (row.stop) report.stoppedAtLine = row.line;
        const result = row.refused !== undefined ? { ok: false as const, reason: row.refused } : format.validate(row.fields, ctx);
        if (!result.ok) {
          addRejection(report, row.line, result.reason);
          continue;
        }
        report.accepted++;
        // Store-keyed formats stage the store first (after `ord`); campaigns are keyed by name.
        if (storeKeyed) stores.add(Number(result.csv.slice(0, result.csv.indexOf(','))));
        if (weekField >= 0) months.add(field(result.csv, weekField).slice(0, 7));
        batch.push(`${report.rowsRead},${result.csv}`);
      }
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    await inFlight;
  } catch (err) {
    await inFlight.catch(() => {});
    await finishRun(db, report, err);
    throw err;
  }
  report.durationMs = Math.round(performance.now() - started);
  report.stores = [...stores].sort((a, b) => a - b);
  report.changed = { weeks: [...changedWeeks].sort(), stores: [...changedStores].sort((a, b) => a - b) };
  await finishRun(db, report);
  return report;
}

async function finishRun(db: Database, r: ImportReport, err?: unknown): Promise<void> {
  if (r.runId === undefined) return;
  await db.orm
    .update(importRuns)
    .set({
      status: err === undefined ? 'succeeded' : 'failed',
      // The database's clock: segments compare it with their own stamp (analytics/segments.ts).
      finishedAt: sql`clock_timestamp()`,
      ...(err === undefined ? {} : { error: String(err) }),
      rowsRead: r.rowsRead,
      rowsAccepted: r.accepted,
      rowsRejected: r.rejectedCount,
      rejected: r.rejected,
    })
    .where(eq(importRuns.id, r.runId));
}

/** Recognises a file by its header; throws ImportFileError naming the accepted formats. */
export async function sniffFile(path: string): Promise<{ path: string; format: FileFormat; indexes: number[] }> {
  let header: Awaited<ReturnType<typeof readHeader>>;
  try {
    header = await readHeader(path);
  } catch (err) {
    throw new ImportFileError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err));
  }
  const match = 'fields' in header ? detectFormat(header.fields) : undefined;
  if (!match) {
    const what = 'fields' in header ? `unrecognised header ${describeHeader(header.fields)}` : `unrecognised header: ${header.problem}`;
    throw new ImportFileError(path, `${what}.\nAccepted formats (recognised by their header row):\n${acceptedFormats()}`);
  }
  return { path, ...match };
}

/** The header as a message quotes it: clipped, with its width when that is not obvious. */
function describeHeader(fields: readonly string[]): string {
  const text = fields.join(',');
  const shown = JSON.stringify(clip(text, INPUT_LIMITS.reasonChars));
  return text.length > INPUT_LIMITS.reasonChars ? `${shown} (${fields.length} columns)` : shown;
}

/** Streams one CSV file through the loader; never holds the whole file in memory. */
export async function importFile(db: Database, path: string, options: ImportOptions = {}): Promise<ImportReport> {
  const { format, indexes } = await sniffFile(path);
  const totalBytes = (await stat(path)).size;
  const source = basename(path);
  const onProgress = options.onProgress;
  const rows = readRows(path, { indexes, onProgress: onProgress && ((p) => onProgress({ source, totalBytes, ...p })) });
  return load(db, format, source, rows, options);
}

/**
 * Imports several files, stores.csv first whatever the order given, so features and sales
 * can check their stores. Unrecognised files are refused before anything is written.
 */
export async function importFiles(db: Database, paths: string[], options: ImportOptions = {}): Promise<ImportReport[]> {
  const sniffed = await Promise.all(paths.map((p) => sniffFile(p)));
  sniffed.sort((a, b) => a.format.loadOrder - b.format.loadOrder);
  const reports: ImportReport[] = [];
  for (const file of sniffed) reports.push(await importFile(db, file.path, options));
  return reports;
}

/**
 * Loads records already split into fields, in the format's column order (generated data).
 */
export async function importRecords(
  db: Database,
  formatName: FileFormat['name'],
  source: string,
  chunks: Iterable<string[][]> | AsyncIterable<string[][]>,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const format = formatByName(formatName);
  if (!format) throw new Error(`unknown format ${formatName}`);
  async function* rows(): AsyncGenerator<Row[]> {
    let line = 1;
    for await (const chunk of chunks) yield chunk.map((fields) => ({ line: ++line, fields }));
  }
  return load(db, format, source, rows(), options);
}

/**
 * The same validation and upsert for rows that arrive as objects (the ingest API). Keys may
 * be the CSV column names or their plain aliases (store, dept, week, sales, isHoliday);
 * `line` in the report is the 1-based position in `rows`.
 */
export async function importRows(
  db: Database,
  formatName: FileFormat['name'],
  rows: readonly Record<string, unknown>[],
  options: ImportOptions & { source: string },
): Promise<ImportReport> {
  const format = formatByName(formatName);
  if (!format) throw new Error(`unknown format ${formatName}`);
  const mapped = rows.map((row, i) => ({ line: i + 1, fields: fieldsOfObject(format, row) }));
  return load(db, format, options.source, [mapped], options);
}
