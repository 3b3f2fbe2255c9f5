import { UserError } from '../chat/errors.ts';
import type { Database } from '../db/client.ts';

import type { SeriesKey } from '../scope.ts';

export type { SeriesKey };

export interface ForecastPoint {
  /** Friday ending the forecast week, YYYY-MM-DD. */
  week: string;
  value: number;
  /** 80% interval: p10 and p90. */
  lower: number;
  upper: number;
}

export interface ForecastResult {
  points: ForecastPoint[];
  /** What produced it, shown to users: e.g. "seasonal-naive" or "global-mlp v3". */
  model: string;
  /** Why a fallback answered, if one did (e.g. "model still training"). */
  note?: string;
  /** The registry version that answered (absent when a fallback did). */
  version?: number;
}

/**
 * Everything that forecasts implements this; /forecast, weekly summaries and the backtest
 * only know this interface.
 */
export interface Forecaster {
  readonly name: string;
  /**
   * Forecast `horizon` weeks after the last week with data (or after `origin`). A series with
   * no sales (before `origin`) throws a UserError with code 'no-data' (see isNoData).
   */
  forecast(db: Database, key: SeriesKey, horizon: number, options?: { origin?: string }): Promise<ForecastResult>;
  /**
   * Store totals of many stores in one pass, where a forecaster can do better than one call
   * per store. May leave stores out; the caller asks `forecast` for those.
   */
  forecastStores?(db: Database, stores: readonly number[], horizon: number, options?: { origin?: string }): Promise<Map<number, ForecastResult>>;
  /**
   * Department series of many stores at the newest origin in one read, keyed `store/dept`,
   * where a forecaster stores them (stock cover over a chain); undefined when it has nothing
   * stored. Series absent from the map have no forecast (no sales history by the origin).
   */
  forecastDepartments?(db: Database, keys: readonly { store: number; dept: number }[], horizon: number): Promise<Map<string, SeriesWeeks> | undefined>;
  /**
   * The stored run `forecastDepartments` reads and its first forecast week, for callers that
   * work on the stored arrays in SQL (stock alerts over a chain); undefined when nothing is stored.
   */
  departmentsRun?(db: Database): Promise<DepartmentsRun | undefined>;
}

/** A stored run as department readers need it: its id and the week its arrays start at (index 1). */
export interface DepartmentsRun {
  runId: number;
  firstWeek: string;
}

/** A series' weeks as arrays (no point objects: a chain's stock cover reads ~340k series). */
export interface SeriesWeeks {
  /** The first forecast week. */
  firstWeek: string;
  p10: number[];
  p50: number[];
  p90: number[];
}

/**
 * A forecaster's "no sales to forecast from": an answer about the data. Anything else it
 * throws is a failure (a lost connection, a broken model) that says nothing about the sales.
 */
export function isNoData(err: unknown): boolean {
  return err instanceof UserError && err.details.code === 'no-data';
}
