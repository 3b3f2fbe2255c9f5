import type { Database } from '../db/client.ts';
import { isNoData, type ForecastResult, type Forecaster } from '../forecast/forecaster.ts';
import { COVER_HORIZON, type Demand } from './cover.ts';

/**
 * Weekly demand forecasts per store x department. The serving forecaster has them stored
 * (src/forecast/stored.ts): read in one query part per 20k series, nothing computed. Without
 * stored forecasts (none computed yet: seasonal naive answers) they are kept in
 * `demand_forecasts`, so a chain-wide stock ingest evaluates every stock rule by reading rows,
 * not by running the forecaster for every department; a store's rows are dropped when its sales
 * change (an import touched it) and recomputed after a day, so a newly activated model takes over.
 */
const MAX_AGE_MS = 24 * 3600_000;
/** Forecasts computed at once on a cold cache (each is a query and some arithmetic). */
const CONCURRENCY = 4;

export const seriesKey = (store: number, dept: number) => `${store}/${dept}`;

/** Drops the cached demand of stores whose sales just changed. */
export async function invalidateDemand(db: Database, stores: readonly number[]): Promise<void> {
  if (stores.length) await db.query('DELETE FROM demand_forecasts WHERE store_id = ANY($1::int[])', [stores]);
}

interface Forecasts {
  demand: Map<string, Demand & { model: string }>;
  /** Series with no sales to forecast from (seriesKey): remembered as such. */
  noSales: Set<string>;
  /** The first failure (anything but "no sales"), after which no more series are started. */
  failure?: { error: unknown };
}

async function forecastMissing(db: Database, forecaster: Forecaster, keys: { store: number; dept: number }[]): Promise<Forecasts> {
  const out: Forecasts = { demand: new Map(), noSales: new Set() };
  let next = 0;
  const worker = async () => {
    while (next < keys.length && !out.failure) {
      const key = keys[next++]!;
      try {
        const r = await forecaster.forecast(db, key, COVER_HORIZON);
        out.demand.set(seriesKey(key.store, key.dept), { ...demandOf(r), model: r.model });
      } catch (err) {
        // A department with stock but no sales history has no forecast: its cover is unknown.
        // Any other error (a lost connection, a broken model) says nothing about the sales.
        if (isNoData(err)) out.noSales.add(seriesKey(key.store, key.dept));
        else out.failure ??= { error: err };
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return out;
}

const round = (v: number) => Math.round(v * 100) / 100;

const demandOf = (r: ForecastResult): Demand => ({
  firstWeek: r.points[0]!.week,
  p10: r.points.map((p) => round(p.lower)),
  p50: r.points.map((p) => round(p.value)),
  p90: r.points.map((p) => round(p.upper)),
});

/** The demand of each series asked for (missing: no sales to forecast from). */
export async function demandFor(db: Database, forecaster: Forecaster, keys: readonly { store: number; dept: number }[], now = new Date()): Promise<Map<string, Demand>> {
  const result = new Map<string, Demand>();
  if (!keys.length) return result;
  // Stored forecasts (the serving forecaster): one read for every series, nothing to cache.
  const stored = forecaster.forecastDepartments ? await forecaster.forecastDepartments(db, keys, COVER_HORIZON) : undefined;
  if (stored) {
    // Stored in cents already: nothing to round.
    for (const [key, r] of stored) if (r.p50.length) result.set(key, r);
    return result;
  }
  const stores = [...new Set(keys.map((k) => k.store))];
  // One JSON value, not one row per series (see latestSnapshots: PGlite's per-field cost).
  const [row] = await db.query<{ j: string | null }>(
    'SELECT json_agg(json_build_array(store_id, dept_id, first_week, p10, p50, p90, computed_at))::text AS j FROM demand_forecasts WHERE store_id = ANY($1::int[])',
    [stores],
  );
  const known = new Set<string>();
  for (const [store, dept, firstWeek, p10, p50, p90, computedAt] of JSON.parse(row?.j ?? '[]') as [number, number, string, number[], number[], number[], string][]) {
    if (now.getTime() - new Date(computedAt).getTime() > MAX_AGE_MS) continue;
    known.add(seriesKey(store, dept));
    // An empty forecast is a remembered "no sales to forecast from": not tried again until the store's sales change.
    if (p50.length) result.set(seriesKey(store, dept), { firstWeek, p10, p50, p90 });
  }
  const missing = keys.filter((k) => !known.has(seriesKey(k.store, k.dept)));
  if (!missing.length) return result;
  const computed = await forecastMissing(db, forecaster, missing);
  // Only answers are kept: a failure kept as "no forecast" would hide the department's cover
  // (and close its stock alerts) for a day. What did compute is kept for the next call.
  const records = missing.flatMap(({ store, dept }) => {
    const d = computed.demand.get(seriesKey(store, dept));
    if (d) return [{ store_id: store, dept_id: dept, first_week: d.firstWeek, model: d.model, p10: d.p10, p50: d.p50, p90: d.p90 }];
    return computed.noSales.has(seriesKey(store, dept)) ? [{ store_id: store, dept_id: dept, first_week: '1970-01-02', model: 'none', p10: [], p50: [], p90: [] }] : [];
  });
  if (records.length) {
    await db.query(
      `INSERT INTO demand_forecasts (store_id, dept_id, first_week, model, p10, p50, p90, computed_at)
       SELECT store_id, dept_id, first_week, model, p10, p50, p90, $2 FROM jsonb_to_recordset($1::jsonb)
         AS x(store_id int, dept_id int, first_week date, model text, p10 jsonb, p50 jsonb, p90 jsonb)
       ORDER BY store_id, dept_id
       ON CONFLICT (store_id, dept_id) DO UPDATE SET first_week = excluded.first_week, model = excluded.model,
         p10 = excluded.p10, p50 = excluded.p50, p90 = excluded.p90, computed_at = excluded.computed_at`,
      [JSON.stringify(records), now.toISOString()],
    );
  }
  // Demand with holes would read as "cover unknown" where it is not: the caller fails instead.
  if (computed.failure) throw computed.failure.error;
  for (const [key, d] of computed.demand) result.set(key, d);
  return result;
}
