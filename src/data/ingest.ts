import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../db/client.ts';
import { importFile, importRows, sniffFile, type ImportReport } from './import.ts';
import { formatByName, type FormatName } from './formats.ts';

const STOCK_HEADER = 'Store,Dept,Date,On_Hand,On_Order,On_Order_Date,Lead_Time_Weeks';

export class IngestError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 415 = 400,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}

/**
 * JSON body: an array of rows, or `{ "rows": [...] }`. Each row: store, dept, week (or date),
 * sales (or weekly_sales), isHoliday (optional: the holiday calendar decides) — the train.csv
 * columns or their plain aliases. The same validation, field rules (src/data/limits.ts) and
 * upsert as `storecast import`.
 */
const EXAMPLE_ROW = {
  train: '{"store": 1, "dept": 1, "week": "2012-02-10", "sales": 24924.5, "isHoliday": false}',
  stock: '{"store": 1, "dept": 1, "date": "2012-10-26", "onHand": 52000, "onOrder": 20000, "onOrderDate": "2012-11-09", "leadTimeWeeks": 2}',
} as const;

export async function ingestJson(db: Database, body: unknown, source: string, format: 'train' | 'stock' = 'train'): Promise<ImportReport> {
  const rows = Array.isArray(body) ? body : body && typeof body === 'object' && Array.isArray((body as { rows?: unknown }).rows) ? (body as { rows: unknown[] }).rows : undefined;
  if (!rows) throw new IngestError(`Send a JSON array of rows, or {"rows": [...]}; each row: ${EXAMPLE_ROW[format]}.`);
  if (!rows.length) throw new IngestError('No rows to import: the array is empty.');
  const objects = rows.map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? (r as Record<string, unknown>) : {}));
  return importRows(db, format, objects, { source });
}

/** The formats POST /api/v1/sales takes as CSV; stock has its route, campaigns are for admins. */
export const SALES_FORMATS: readonly FormatName[] = ['stores', 'walmart', 'features', 'train', 'test'];

/**
 * CSV body with a header row, in one of the `accept`ed formats `storecast import` recognises.
 * Spooled to a private temp file and streamed from it.
 */
export async function ingestCsv(db: Database, csv: string, source: string, accept: readonly FormatName[]): Promise<ImportReport> {
  if (!csv.trim()) throw new IngestError('The CSV body is empty.');
  const dir = await mkdtemp(join(tmpdir(), 'storecast-ingest-'));
  const path = join(dir, `${source.replace(/[^A-Za-z0-9_.-]/g, '_')}.csv`);
  try {
    await writeFile(path, csv, { mode: 0o600 });
    // Each endpoint writes only its own data: an ingest token must not reach campaigns (admin) by a header.
    const format = (await sniffFile(path)).format;
    if (!accept.includes(format.name)) {
      throw new IngestError(
        accept.length === 1 && accept[0] === 'stock'
          ? `This CSV is not a stock file: its header must be ${STOCK_HEADER} (On_Order, On_Order_Date and Lead_Time_Weeks may be left out).`
          : `This endpoint does not take ${format.description.split(':')[0]} files; it takes ${accept.map((f) => (formatByName(f)?.description ?? f).split(':')[0]).join(', ')}.`,
      );
    }
    const report = await importFile(db, path);
    return { ...report, source };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
