/**
 * What storecast accepts, defined once: the row validators, the CSV reader, the import reports
 * (CLI, ingest API, import_runs), the /api/v1 schemas (src/api/schemas.ts builds them from
 * these, so the published document cannot drift from what is accepted), chat options and the
 * CLI flags all read their bounds from here.
 */

export interface Range {
  min: number;
  max: number;
}

/**
 * Value ranges per field. Wide enough for any real store (the Walmart data peaks at ~$700k
 * for a department week and has negative weeks where returns exceed sales), narrow enough
 * that every sum the analytics take stays finite: a store-week total over 9,999 departments
 * is at most 1e13 and a chain-week total at most ~1e18, far from float8 overflow (1.8e308),
 * which one accepted `1.7e308` once caused.
 */
export const FIELD_RANGES = {
  store: { min: 1, max: 99_999 },
  dept: { min: 1, max: 9_999 },
  /** Store floor area, square feet. */
  size: { min: 1, max: 100_000_000 },
  /** One department's weekly sales, dollars; negative when returns exceed sales. */
  deptSales: { min: -1e9, max: 1e9 },
  /** A whole store's weekly sales (store-level Walmart.csv), dollars. */
  storeSales: { min: -1e11, max: 1e11 },
  /** Degrees Fahrenheit, as both Walmart files write it. */
  temperature: { min: -100, max: 150 },
  /** Dollars per gallon. */
  fuelPrice: { min: 0, max: 100 },
  /** Promotional markdowns, dollars; the Kaggle file has a few small negative ones. */
  markdown: { min: -1e9, max: 1e9 },
  cpi: { min: 0, max: 10_000 },
  /** Percent. */
  unemployment: { min: 0, max: 100 },
  /** Stock on hand or on order, dollars at retail. */
  stockValue: { min: 0, max: 1e10 },
  /** Weeks from ordering to the goods on the shelf. */
  leadTimeWeeks: { min: 0, max: 104 },
  /** Weeks a forecast reaches ahead (/forecast, POST /api/v1/forecasts). */
  horizon: { min: 1, max: 52 },
} as const satisfies Record<string, Range>;

export type RangedField = keyof typeof FIELD_RANGES;

/**
 * Row fields that may be left out, and what a missing value then means: the validators in
 * src/data/formats.ts apply it, and the API document quotes `means`.
 */
export const FIELD_DEFAULTS = {
  /** Every week is a Friday, so the calendar (src/data/holidays.ts) knows; the Walmart files agree with it. */
  isHoliday: {
    means: 'Optional. When left out, taken from the holiday calendar: true for the weeks of the Super Bowl, Labor Day, Thanksgiving and Christmas, false otherwise.',
  },
} as const;

/** Limits on input size and on how much of it a report repeats back. */
export const INPUT_LIMITS = {
  /** Longest physical line of a CSV file, bytes. Real rows are under 200. */
  lineBytes: 64 * 1024,
  /** csv-parse's max_record_size (characters): catches an unclosed quote that swallows lines. */
  recordChars: 64 * 1024,
  /** Most fields in a row or header; the widest format (features.csv) has 12. */
  columns: 64,
  /** Rejected rows listed in a report; `rejectedCount` is always the exact total. */
  listedRejections: 100,
  /** Longest input value quoted back in a rejection reason or an error. */
  echoChars: 40,
  /** Longest rejection reason. */
  reasonChars: 200,
} as const;
