import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse, type InfoRecord, type Options } from 'csv-parse';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { importRuns } from '../db/schema.ts';
import { acceptedFormats, detectFormat, fieldsOfObject, formatByName, type Fields, type FileFormat, type RowContext } from './formats.ts';
import { refreshStoreWeekRollup } from './rollup.ts';

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
  rejectedCount: number;
  /** Every rejected row, in file order. */
  rejected: RejectedRow[];
  durationMs: number;
  runId?: number;
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

const STORED_REJECTIONS = 1000;

interface Row {
  line: number;
  fields: Fields;
}

async function knownStores(db: Database): Promise<Set<number>> {
  const rows = await db.query<{ store_id: number }>('SELECT store_id FROM stores');
  return new Set(rows.map((r) => r.store_id));
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
  const report: ImportReport = {
    source,
    format: format.name,
    dryRun,
    rowsRead: 0,
    accepted: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejectedCount: 0,
    rejected: [],
    durationMs: 0,
  };
  const touchedStores = new Set<number>();

  let runId: number | undefined;
  if (!dryRun) {
    const [run] = await db.orm.insert(importRuns).values({ source, format: format.name }).returning({ id: importRuns.id });
    runId = run!.id;
    report.runId = runId;
  }

  let batch: string[] = [];
  // One batch is written while the next is parsed: on a Postgres server the two overlap.
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (batch.length === 0) return;
    const csv = batch.join('\n') + '\n';
    const count = batch.length;
    batch = [];
    if (dryRun) return;
    await inFlight;
    inFlight = write(csv, count);
    inFlight.catch(() => {}); // awaited later; this only keeps an early failure from being "unhandled"
  };
  const write = async (csv: string, count: number) => {
    const result = await db.transaction(async (tx) => {
      await tx.exec(`CREATE TEMP TABLE stg (${format.staging.ddl}) ON COMMIT DROP`);
      await tx.copyCsv('stg', format.staging.columns, csv);
      let last: { inserted: number; updated: number } | undefined;
      for (const statement of format.upsert) {
        last = (await tx.query<{ inserted: number; updated: number }>(statement))[0];
      }
      return last ?? { inserted: 0, updated: 0 };
    });
    report.inserted += result.inserted;
    report.updated += result.updated;
    report.unchanged += count - result.inserted - result.updated;
  };

  try {
    // Rows arrive in chunks: one await per chunk, not per row, keeps validation CPU-bound.
    for await (const chunk of chunks) {
      for (const row of chunk) {
        report.rowsRead++;
        const result = format.validate(row.fields, ctx);
        if (!result.ok) {
          report.rejectedCount++;
          report.rejected.push({ line: row.line, reason: result.reason });
          continue;
        }
        report.accepted++;
        touchedStores.add(result.store);
        batch.push(`${report.rowsRead},${result.csv}`);
      }
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    await inFlight;
    if (!dryRun && format.refreshesRollup && touchedStores.size > 0) {
      await refreshStoreWeekRollup(db, [...touchedStores]);
    }
  } catch (err) {
    await inFlight.catch(() => {});
    if (runId !== undefined) {
      await db.orm
        .update(importRuns)
        .set({ status: 'failed', finishedAt: new Date(), error: String(err), ...counts(report) })
        .where(eq(importRuns.id, runId));
    }
    throw err;
  }
  report.durationMs = Math.round(performance.now() - started);
  if (runId !== undefined) {
    await db.orm
      .update(importRuns)
      .set({ status: 'succeeded', finishedAt: new Date(), ...counts(report) })
      .where(eq(importRuns.id, runId));
  }
  return report;
}

function counts(r: ImportReport) {
  return {
    rowsRead: r.rowsRead,
    rowsAccepted: r.accepted,
    rowsRejected: r.rejectedCount,
    rejected: r.rejected.slice(0, STORED_REJECTIONS),
  };
}

async function readHeader(path: string): Promise<string[]> {
  const parser = createReadStream(path).pipe(parse({ to_line: 1, relax_column_count: true, bom: true }));
  for await (const record of parser) return record as string[];
  return [];
}

/** Recognises a file by its header; throws ImportFileError naming the accepted formats. */
export async function sniffFile(path: string): Promise<{ path: string; format: FileFormat; indexes: number[] }> {
  let header: string[];
  try {
    header = await readHeader(path);
  } catch (err) {
    throw new ImportFileError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err));
  }
  const match = detectFormat(header);
  if (!match) {
    throw new ImportFileError(
      path,
      `unrecognised header ${JSON.stringify(header.join(','))}.\nAccepted formats (recognised by their header row):\n${acceptedFormats()}`,
    );
  }
  return { path, ...match };
}

/** Streams one CSV file through the loader; never holds the whole file in memory. */
export async function importFile(db: Database, path: string, options: ImportOptions = {}): Promise<ImportReport> {
  const { format, indexes } = await sniffFile(path);
  const totalBytes = (await stat(path)).size;
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  // csv-parse detects CR, LF and CRLF record delimiters (stores.csv is CR-only).
  const source = basename(path);
  // Files in the documented column order (all real ones) are read without copying fields.
  const inOrder = indexes.every((index, i) => index === i);
  const parser = input.pipe(
    parse({
      from_line: 2,
      relax_column_count: true,
      bom: true,
      skip_empty_lines: true,
      trim: true,
      // Cheaper than `info: true` (which allocates an object per record) for the line number.
      on_record: ((record: string[], context: InfoRecord): Row => ({ line: context.lines, fields: inOrder ? record : indexes.map((i) => record[i]) })) as unknown as Options['on_record'],
    }),
  );
  async function* chunks(): AsyncGenerator<Row[]> {
    let chunk: Row[] = [];
    let n = 0;
    for await (const row of parser as AsyncIterable<Row>) {
      chunk.push(row);
      if (chunk.length === 10_000) {
        n += chunk.length;
        yield chunk;
        chunk = [];
        options.onProgress?.({ source, bytesRead: input.bytesRead, totalBytes, rows: n });
      }
    }
    if (chunk.length) yield chunk;
    options.onProgress?.({ source, bytesRead: totalBytes, totalBytes, rows: n + chunk.length });
  }
  return load(db, format, source, chunks(), options);
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
