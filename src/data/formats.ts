import { UserError } from '../chat/errors.ts';
import { parseStoreList, validateCampaign } from '../campaigns/campaigns.ts';
import { clip } from '../util/text.ts';
import { isHolidayWeek } from './holidays.ts';
import { FIELD_RANGES, INPUT_LIMITS, type Range } from './limits.ts';
import { AGGREGATE_DELTA_CTES, SALES_UPSERT_CTES } from './rollup.ts';
import { WEEKDAYS, isoDate, parseIsoDate } from './weeks.ts';

/**
 * The CSV formats storecast reads, recognised by their header row. Each format validates a
 * row into a CSV line for its staging table (COPY) or a reason to reject it, and knows the
 * SQL that upserts staged rows on the natural key, so re-importing changes nothing.
 */
export type FormatName = 'stores' | 'walmart' | 'features' | 'train' | 'test' | 'stock' | 'campaigns';

export interface RowContext {
  knownStores: ReadonlySet<number>;
}

/** A row's values in a format's column order (undefined: the column is absent). */
export type Fields = readonly (string | undefined)[];

export type RowResult = { ok: true; csv: string } | { ok: false; reason: string };

export interface FileFormat {
  name: FormatName;
  /** How users know it: shown when a header is not recognised. */
  description: string;
  columns: readonly string[];
  /** Columns a file may leave out (their values are then missing). */
  optional?: readonly string[];
  /** Formats load in this order whatever the command line says: stores before the rest. */
  loadOrder: number;
  staging: { columns: readonly string[]; ddl: string };
  /** `fields` are in this format's column order. */
  validate(fields: Fields, ctx: RowContext): RowResult;
  /** Statements run in the batch transaction after COPY into `stg`; the last returns {inserted, updated}. */
  upsert: string[];
  /**
   * Which maintained aggregates (src/data/rollup.ts) the batch feeds: 'departments' rows
   * (weekly_sales: every aggregate), 'store-totals' (store_week_sales written directly: the
   * holiday weeks built on it), or none.
   */
  aggregates: 'departments' | 'store-totals' | 'none';
}

class RowError extends Error {}

const reject = (reason: string): never => {
  throw new RowError(reason);
};

const isMissing = (v: string | undefined): v is undefined => v === undefined || v === '' || v === 'NA' || v === 'N/A';

/** An input value as a reason quotes it: clipped, so a 10 MB field is not sent back. */
const shown = (v: string) => JSON.stringify(clip(v, INPUT_LIMITS.echoChars));

const bound = (n: number) => n.toLocaleString('en-US');

function inRange(n: number, v: string, column: string, range: Range): void {
  if (n < range.min || n > range.max) reject(`${column} ${clip(v, INPUT_LIMITS.echoChars)} is out of range ${bound(range.min)}..${bound(range.max)}`);
}

function integer(v: string | undefined, column: string, range: Range): number {
  if (isMissing(v)) return reject(`missing ${column}`);
  if (!/^-?\d+$/.test(v)) return reject(`${column} is not a whole number: ${shown(v)}`);
  const n = Number(v);
  inRange(n, v, column, range);
  return n;
}

function decimal(v: string | undefined, column: string, range: Range, nullable: boolean): string {
  if (isMissing(v)) return nullable ? '' : reject(`missing ${column}`);
  const n = Number(v);
  if (!Number.isFinite(n) || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) {
    return reject(`${column} is not a number: ${shown(v)}`);
  }
  inRange(n, v, column, range);
  return String(n);
}

function flag(v: string | undefined, column: string): 't' | 'f' {
  if (isMissing(v)) return reject(`missing ${column}`);
  switch (v.toUpperCase()) {
    case 'TRUE':
    case '1':
    case 'T':
      return 't';
    case 'FALSE':
    case '0':
    case 'F':
      return 'f';
    default:
      return reject(`${column} must be TRUE/FALSE or 1/0, got ${shown(v)}`);
  }
}

/** A holiday flag, or when left out the calendar's answer for `week` (FIELD_DEFAULTS.isHoliday). */
function holidayFlag(v: string | undefined, column: string, week: string): 't' | 'f' {
  if (isMissing(v)) return isHolidayWeek(week) ? 't' : 'f';
  return flag(v, column);
}

function friday(d: Date | undefined, raw: string, column: string, expected: string): string {
  if (!d) return reject(`bad ${column} ${shown(raw)} (expected ${expected})`);
  if (d.getUTCDay() !== 5) {
    return reject(`${column} ${isoDate(d)} is a ${WEEKDAYS[d.getUTCDay()]}; weeks end on Friday`);
  }
  return isoDate(d);
}

// A file repeats the same ~150 weeks over and over: validate each distinct date once.
const isoWeekCache = new Map<string, string | RowError>();

function isoWeek(v: string | undefined, column: string): string {
  if (isMissing(v)) return reject(`missing ${column}`);
  // Only date-sized values are cached: long garbage would fill memory, not save time.
  if (v.length > 12) return friday(undefined, v, column, 'YYYY-MM-DD');
  let cached = isoWeekCache.get(v);
  if (cached === undefined) {
    try {
      cached = friday(parseIsoDate(v), v, column, 'YYYY-MM-DD');
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      cached = err;
    }
    if (isoWeekCache.size > 100_000) isoWeekCache.clear();
    isoWeekCache.set(v, cached);
  }
  if (cached instanceof RowError) throw cached;
  return cached;
}

/** Walmart.csv writes dates as dd/mm/yy (some copies dd-mm-yyyy). */
function dayFirstWeek(v: string | undefined, column: string): string {
  if (isMissing(v)) return reject(`missing ${column}`);
  const m = /^(\d{1,2})[/-](\d{1,2})[/-](\d{2}|\d{4})$/.exec(v);
  if (!m) return reject(`bad ${column} ${shown(v)} (expected dd/mm/yy)`);
  const year = m[3]!.length === 2 ? 2000 + Number(m[3]) : Number(m[3]);
  const iso = `${year}-${m[2]!.padStart(2, '0')}-${m[1]!.padStart(2, '0')}`;
  return friday(parseIsoDate(iso), v, column, 'dd/mm/yy');
}

/** Any calendar day (a stock count is taken when it is taken), ISO. */
function isoDay(v: string | undefined, column: string): string {
  if (isMissing(v)) return reject(`missing ${column}`);
  const d = v.length <= 12 ? parseIsoDate(v) : undefined;
  if (!d) return reject(`bad ${column} ${shown(v)} (expected YYYY-MM-DD)`);
  return isoDate(d);
}

/** A stock row: the optional order needs its date, and arrives on or after the count. */
function stockRow(f: Fields, ctx: RowContext): { csv: string } {
  const store = knownStore(f[0], ctx);
  const dept = integer(f[1], 'Dept', FIELD_RANGES.dept);
  const asOf = isoDay(f[2], 'Date');
  const onHand = decimal(f[3], 'On_Hand', FIELD_RANGES.stockValue, false);
  const onOrder = decimal(f[4], 'On_Order', FIELD_RANGES.stockValue, true);
  const orderDate = isMissing(f[5]) ? '' : isoDay(f[5], 'On_Order_Date');
  if (onOrder !== '' && Number(onOrder) > 0 && orderDate === '') reject('On_Order needs On_Order_Date (when the order is expected)');
  if (orderDate !== '' && orderDate < asOf) reject(`On_Order_Date ${orderDate} is before the count's Date ${asOf}`);
  const lead = decimal(f[6], 'Lead_Time_Weeks', FIELD_RANGES.leadTimeWeeks, true);
  return { csv: `${store},${dept},${asOf},${onHand},${onOrder},${orderDate},${lead}` };
}

function knownStore(v: string | undefined, ctx: RowContext): number {
  const store = integer(v, 'Store', FIELD_RANGES.store);
  if (!ctx.knownStores.has(store)) return reject(`unknown store ${store} (import stores.csv first)`);
  return store;
}

function guard(fn: () => { csv: string }): RowResult {
  try {
    return { ok: true, ...fn() };
  } catch (err) {
    if (err instanceof RowError) return { ok: false, reason: err.message };
    throw err;
  }
}

/** features.csv's numeric columns between Date and IsHoliday, in file order. */
const FEATURE_COLUMNS: readonly (readonly [string, Range])[] = [
  ['Temperature', FIELD_RANGES.temperature],
  ['Fuel_Price', FIELD_RANGES.fuelPrice],
  ...[1, 2, 3, 4, 5].map((i) => [`MarkDown${i}`, FIELD_RANGES.markdown] as const),
  ['CPI', FIELD_RANGES.cpi],
  ['Unemployment', FIELD_RANGES.unemployment],
];

/** A value as one CSV field of a staging row: quoted, quotes doubled. */
const quoted = (v: string) => `"${v.replace(/"/g, '""')}"`;

/** A campaigns row (src/campaigns/): the rules of /campaign create, each store a known one. */
function campaignRow(f: Fields, ctx: RowContext): { csv: string } {
  try {
    const c = validateCampaign({
      name: f[0] ?? '',
      stores: parseStoreList(f[1] ?? '', 'Stores'),
      controls: isMissing(f[4]) ? null : parseStoreList(f[4], 'Control_Stores'),
      start: f[2] ?? '',
      end: f[3] ?? '',
      notes: isMissing(f[5]) ? null : f[5],
    });
    const unknown = [...c.stores, ...(c.controls ?? [])].filter((s) => !ctx.knownStores.has(s));
    if (unknown.length) reject(`unknown store ${unknown.slice(0, 5).join(', ')} (import stores.csv first)`);
    const array = (xs: readonly number[] | null | undefined) => (xs?.length ? quoted(`{${xs.join(',')}}`) : '');
    return { csv: [c.name, array(c.stores), array(c.controls), c.start, c.end, c.notes ? quoted(c.notes) : ''].join(',') };
  } catch (err) {
    if (err instanceof UserError) return reject(err.message);
    throw err;
  }
}

const upsertReturning = `SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated FROM up`;

export const FORMATS: readonly FileFormat[] = [
  {
    name: 'stores',
    description: 'Kaggle stores.csv: Store,Type,Size',
    columns: ['Store', 'Type', 'Size'],
    loadOrder: 0,
    staging: { columns: ['ord', 'store_id', 'type', 'size'], ddl: 'ord int, store_id int, type text, size int' },
    validate: (f) =>
      guard(() => {
        const store = integer(f[0], 'Store', FIELD_RANGES.store);
        const type = f[1];
        if (isMissing(type)) reject('missing Type');
        if (!/^[A-Za-z]{1,3}$/.test(type!)) reject(`Type must be a letter such as A, B or C, got ${shown(type!)}`);
        const size = integer(f[2], 'Size', FIELD_RANGES.size);
        return { csv: `${store},${type!.toUpperCase()},${size}` };
      }),
    upsert: [
      `WITH up AS (
         INSERT INTO stores (store_id, type, size)
         SELECT DISTINCT ON (store_id) store_id, type, size FROM stg ORDER BY store_id, ord DESC
         ON CONFLICT (store_id) DO UPDATE SET type = excluded.type, size = excluded.size
         WHERE (stores.type, stores.size) IS DISTINCT FROM (excluded.type, excluded.size)
         RETURNING (xmax = 0) AS inserted)
       ${upsertReturning}`,
    ],
    aggregates: 'none',
  },
  {
    name: 'walmart',
    description: 'store-level Walmart.csv: Store,Date,Weekly_Sales,Holiday_Flag,Temperature,Fuel_Price,CPI,Unemployment',
    columns: ['Store', 'Date', 'Weekly_Sales', 'Holiday_Flag', 'Temperature', 'Fuel_Price', 'CPI', 'Unemployment'],
    loadOrder: 1,
    staging: {
      columns: ['ord', 'store_id', 'week', 'sales', 'is_holiday', 'temperature', 'fuel_price', 'cpi', 'unemployment'],
      ddl: 'ord int, store_id int, week date, sales float8, is_holiday bool, temperature float8, fuel_price float8, cpi float8, unemployment float8',
    },
    validate: (f) =>
      guard(() => {
        const store = integer(f[0], 'Store', FIELD_RANGES.store);
        const week = dayFirstWeek(f[1], 'Date');
        const sales = decimal(f[2], 'Weekly_Sales', FIELD_RANGES.storeSales, false);
        const holiday = holidayFlag(f[3], 'Holiday_Flag', week);
        const rest = [
          decimal(f[4], 'Temperature', FIELD_RANGES.temperature, true),
          decimal(f[5], 'Fuel_Price', FIELD_RANGES.fuelPrice, true),
          decimal(f[6], 'CPI', FIELD_RANGES.cpi, true),
          decimal(f[7], 'Unemployment', FIELD_RANGES.unemployment, true),
        ];
        return { csv: `${store},${week},${sales},${holiday},${rest.join(',')}` };
      }),
    upsert: [
      // A store-level file names its stores; type and size stay unknown until stores.csv.
      `INSERT INTO stores (store_id) SELECT DISTINCT store_id FROM stg ON CONFLICT DO NOTHING`,
      `INSERT INTO store_features (store_id, week, temperature, fuel_price, cpi, unemployment, is_holiday)
       SELECT DISTINCT ON (store_id, week) store_id, week, temperature, fuel_price, cpi, unemployment, is_holiday
       FROM stg ORDER BY store_id, week, ord DESC
       ON CONFLICT (store_id, week) DO UPDATE SET temperature = excluded.temperature, fuel_price = excluded.fuel_price,
         cpi = excluded.cpi, unemployment = excluded.unemployment, is_holiday = excluded.is_holiday
       WHERE (store_features.temperature, store_features.fuel_price, store_features.cpi, store_features.unemployment, store_features.is_holiday)
         IS DISTINCT FROM (excluded.temperature, excluded.fuel_price, excluded.cpi, excluded.unemployment, excluded.is_holiday)`,
      // Department detail, when present, is the better source of a store's total: keep it.
      `WITH up AS (
         INSERT INTO store_week_sales (store_id, week, sales, is_holiday, dept_count, source)
         SELECT DISTINCT ON (store_id, week) store_id, week, sales, is_holiday, 0, 'store-total'
         FROM stg ORDER BY store_id, week, ord DESC
         ON CONFLICT (store_id, week) DO UPDATE SET sales = excluded.sales, is_holiday = excluded.is_holiday
         WHERE store_week_sales.source = 'store-total'
           AND (store_week_sales.sales, store_week_sales.is_holiday) IS DISTINCT FROM (excluded.sales, excluded.is_holiday)
         RETURNING (xmax = 0) AS inserted)
       ${upsertReturning}`,
    ],
    aggregates: 'store-totals',
  },
  {
    name: 'features',
    description: 'Kaggle features.csv: Store,Date,Temperature,Fuel_Price,MarkDown1..5,CPI,Unemployment,IsHoliday',
    columns: ['Store', 'Date', 'Temperature', 'Fuel_Price', 'MarkDown1', 'MarkDown2', 'MarkDown3', 'MarkDown4', 'MarkDown5', 'CPI', 'Unemployment', 'IsHoliday'],
    loadOrder: 2,
    staging: {
      columns: ['ord', 'store_id', 'week', 'temperature', 'fuel_price', 'markdown1', 'markdown2', 'markdown3', 'markdown4', 'markdown5', 'cpi', 'unemployment', 'is_holiday'],
      ddl: 'ord int, store_id int, week date, temperature float8, fuel_price float8, markdown1 float8, markdown2 float8, markdown3 float8, markdown4 float8, markdown5 float8, cpi float8, unemployment float8, is_holiday bool',
    },
    validate: (f, ctx) =>
      guard(() => {
        const store = knownStore(f[0], ctx);
        const week = isoWeek(f[1], 'Date');
        const values = FEATURE_COLUMNS.map(([name, range], i) => decimal(f[i + 2], name, range, true));
        return { csv: `${store},${week},${values.join(',')},${holidayFlag(f[11], 'IsHoliday', week)}` };
      }),
    upsert: [
      `WITH up AS (
         INSERT INTO store_features (store_id, week, temperature, fuel_price, markdown1, markdown2, markdown3, markdown4, markdown5, cpi, unemployment, is_holiday)
         SELECT DISTINCT ON (store_id, week) store_id, week, temperature, fuel_price, markdown1, markdown2, markdown3, markdown4, markdown5, cpi, unemployment, is_holiday
         FROM stg ORDER BY store_id, week, ord DESC
         ON CONFLICT (store_id, week) DO UPDATE SET temperature = excluded.temperature, fuel_price = excluded.fuel_price,
           markdown1 = excluded.markdown1, markdown2 = excluded.markdown2, markdown3 = excluded.markdown3,
           markdown4 = excluded.markdown4, markdown5 = excluded.markdown5, cpi = excluded.cpi,
           unemployment = excluded.unemployment, is_holiday = excluded.is_holiday
         WHERE (store_features.*) IS DISTINCT FROM (excluded.*)
         RETURNING (xmax = 0) AS inserted)
       ${upsertReturning}`,
    ],
    aggregates: 'none',
  },
  {
    name: 'train',
    description: 'Kaggle train.csv: Store,Dept,Date,Weekly_Sales,IsHoliday (IsHoliday may be left out: the holiday calendar decides)',
    columns: ['Store', 'Dept', 'Date', 'Weekly_Sales', 'IsHoliday'],
    optional: ['IsHoliday'],
    loadOrder: 3,
    staging: { columns: ['ord', 'store_id', 'dept_id', 'week', 'sales', 'is_holiday'], ddl: 'ord int, store_id int, dept_id int, week date, sales float8, is_holiday bool' },
    validate: (f, ctx) =>
      guard(() => {
        const store = knownStore(f[0], ctx);
        const dept = integer(f[1], 'Dept', FIELD_RANGES.dept);
        const week = isoWeek(f[2], 'Date');
        return { csv: `${store},${dept},${week},${decimal(f[3], 'Weekly_Sales', FIELD_RANGES.deptSales, false)},${holidayFlag(f[4], 'IsHoliday', week)}` };
      }),
    upsert: [
      `INSERT INTO departments (dept_id) SELECT DISTINCT dept_id FROM stg ON CONFLICT DO NOTHING`,
      // One statement: the deltas of dept_week_sales need the old values only it can see.
      `WITH src AS (
         SELECT DISTINCT ON (store_id, dept_id, week) store_id, dept_id, week, sales, is_holiday
         FROM stg ORDER BY store_id, dept_id, week, ord DESC),
       ${SALES_UPSERT_CTES},
       ${AGGREGATE_DELTA_CTES}
       ${upsertReturning}`,
    ],
    aggregates: 'departments',
  },
  {
    name: 'test',
    description: 'Kaggle test.csv (weeks to forecast): Store,Dept,Date,IsHoliday',
    columns: ['Store', 'Dept', 'Date', 'IsHoliday'],
    loadOrder: 4,
    staging: { columns: ['ord', 'store_id', 'dept_id', 'week', 'is_holiday'], ddl: 'ord int, store_id int, dept_id int, week date, is_holiday bool' },
    validate: (f, ctx) =>
      guard(() => {
        const store = knownStore(f[0], ctx);
        const dept = integer(f[1], 'Dept', FIELD_RANGES.dept);
        const week = isoWeek(f[2], 'Date');
        return { csv: `${store},${dept},${week},${holidayFlag(f[3], 'IsHoliday', week)}` };
      }),
    upsert: [
      `INSERT INTO departments (dept_id) SELECT DISTINCT dept_id FROM stg ON CONFLICT DO NOTHING`,
      `WITH up AS (
         INSERT INTO forecast_weeks (store_id, dept_id, week, is_holiday)
         SELECT DISTINCT ON (store_id, dept_id, week) store_id, dept_id, week, is_holiday
         FROM stg ORDER BY store_id, dept_id, week, ord DESC
         ON CONFLICT (store_id, dept_id, week) DO UPDATE SET is_holiday = excluded.is_holiday
         WHERE forecast_weeks.is_holiday IS DISTINCT FROM excluded.is_holiday
         RETURNING (xmax = 0) AS inserted)
       ${upsertReturning}`,
    ],
    aggregates: 'none',
  },
  {
    name: 'stock',
    description: 'stock snapshots: Store,Dept,Date,On_Hand[,On_Order,On_Order_Date,Lead_Time_Weeks] (values at retail)',
    columns: ['Store', 'Dept', 'Date', 'On_Hand', 'On_Order', 'On_Order_Date', 'Lead_Time_Weeks'],
    optional: ['On_Order', 'On_Order_Date', 'Lead_Time_Weeks'],
    loadOrder: 5,
    staging: {
      columns: ['ord', 'store_id', 'dept_id', 'as_of', 'on_hand', 'on_order', 'on_order_date', 'lead_time_weeks'],
      ddl: 'ord int, store_id int, dept_id int, as_of date, on_hand float8, on_order float8, on_order_date date, lead_time_weeks float8',
    },
    validate: (f, ctx) => guard(() => stockRow(f, ctx)),
    upsert: [
      `INSERT INTO departments (dept_id) SELECT DISTINCT dept_id FROM stg ON CONFLICT DO NOTHING`,
      `WITH up AS (
         INSERT INTO stock_snapshots (store_id, dept_id, as_of, on_hand, on_order, on_order_date, lead_time_weeks)
         SELECT DISTINCT ON (store_id, dept_id, as_of) store_id, dept_id, as_of, on_hand, on_order, on_order_date, lead_time_weeks
         FROM stg ORDER BY store_id, dept_id, as_of, ord DESC
         ON CONFLICT (store_id, dept_id, as_of) DO UPDATE SET on_hand = excluded.on_hand, on_order = excluded.on_order,
           on_order_date = excluded.on_order_date, lead_time_weeks = excluded.lead_time_weeks
         WHERE (stock_snapshots.on_hand, stock_snapshots.on_order, stock_snapshots.on_order_date, stock_snapshots.lead_time_weeks)
           IS DISTINCT FROM (excluded.on_hand, excluded.on_order, excluded.on_order_date, excluded.lead_time_weeks)
         RETURNING (xmax = 0) AS inserted)
       ${upsertReturning}`,
    ],
    aggregates: 'none',
  },
  {
    name: 'campaigns',
    description: 'campaigns: Name,Stores,Start,End,Control_Stores,Notes (stores like "1,5,7" or 1-5; controls and notes may be empty)',
    columns: ['Name', 'Stores', 'Start', 'End', 'Control_Stores', 'Notes'],
    loadOrder: 5,
    staging: {
      columns: ['ord', 'name', 'stores', 'control_stores', 'start_date', 'end_date', 'notes'],
      ddl: 'ord int, name text, stores int[], control_stores int[], start_date date, end_date date, notes text',
    },
    validate: (f, ctx) => guard(() => campaignRow(f, ctx)),
    upsert: [
      `WITH up AS (
         INSERT INTO campaigns (name, stores, control_stores, start_date, end_date, notes, created_by)
         SELECT DISTINCT ON (name) name, stores, control_stores, start_date, end_date, notes, 'import'
         FROM stg ORDER BY name, ord DESC
         ON CONFLICT (name) DO UPDATE SET stores = excluded.stores, control_stores = excluded.control_stores,
           start_date = excluded.start_date, end_date = excluded.end_date, notes = excluded.notes
         WHERE (campaigns.stores, campaigns.control_stores, campaigns.start_date, campaigns.end_date, campaigns.notes)
           IS DISTINCT FROM (excluded.stores, excluded.control_stores, excluded.start_date, excluded.end_date, excluded.notes)
         RETURNING (xmax = 0) AS inserted)
       ${upsertReturning}`,
    ],
    aggregates: 'none',
  },
];

const normalise = (name: string) => name.replace(/^\uFEFF/, '').trim().toLowerCase().replace(/[^a-z0-9]/g, '');

export interface HeaderMatch {
  format: FileFormat;
  /** For each of the format's columns, its index in the file's row. */
  indexes: number[];
}

/** Recognises a format by its header, in any column order and letter case. */
export function detectFormat(header: readonly string[]): HeaderMatch | undefined {
  const names = header.map(normalise);
  for (const format of FORMATS) {
    const wanted = format.columns.map(normalise);
    const optional = new Set((format.optional ?? []).map(normalise));
    // Every column of the file is one of the format's, and every required one is there.
    if (names.length > wanted.length || names.length < wanted.length - optional.size || new Set(names).size !== names.length) continue;
    if (!names.every((n) => wanted.includes(n))) continue;
    const indexes = wanted.map((w) => names.indexOf(w));
    if (indexes.every((i, k) => i >= 0 || optional.has(wanted[k]!))) return { format, indexes };
  }
  return undefined;
}

export function acceptedFormats(): string {
  return FORMATS.map((f) => `  - ${f.description}`).join('\n');
}

export function formatByName(name: string): FileFormat | undefined {
  return FORMATS.find((f) => f.name === name);
}

/** Aliases JSON rows may use instead of the CSV column names (ingest API). */
const FIELD_ALIASES: Record<string, string[]> = {
  store: ['storeid'],
  dept: ['department', 'deptid'],
  date: ['week', 'weekending', 'asof'],
  weeklysales: ['sales'],
  isholiday: ['holiday', 'holidayflag'],
  onhand: ['onhandvalue', 'stock'],
  onorder: ['onordervalue'],
  onorderdate: ['expected', 'expecteddate', 'orderdate'],
  leadtimeweeks: ['leadtime', 'leadweeks'],
};

/** Turns a JSON row into the fields the validators read. */
export function fieldsOfObject(format: FileFormat, row: Record<string, unknown>): Fields {
  const byName = new Map(Object.entries(row).map(([k, v]) => [normalise(k), v]));
  return format.columns.map((column) => {
    const name = normalise(column);
    const keys = [name, ...(FIELD_ALIASES[name] ?? [])];
    for (const k of keys) {
      const v = byName.get(k);
      if (v === undefined || v === null) continue;
      return typeof v === 'boolean' ? (v ? 'TRUE' : 'FALSE') : String(v);
    }
    return undefined;
  });
}
