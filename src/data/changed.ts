import { sql } from 'drizzle-orm';
import type { Logger } from '../logger.ts';
import { SEGMENT_INPUTS, refreshSegments } from '../analytics/segments.ts';
import { scoreForecastLog } from '../forecast/forecast-log.ts';
import { invalidateDemand } from '../stock/demand.ts';
import { evaluateTouched } from '../alerts/hooks.ts';
import type { EvaluateDeps, EvaluationRun } from '../alerts/evaluate.ts';
import { importRuns } from '../db/schema.ts';
import type { FormatName } from './formats.ts';
import type { ImportReport } from './import.ts';
import { ensureAggregates } from './rollup.ts';

/**
 * The one "data changed" pipeline. Every write path ends in `dataChanged`: `storecast import`,
 * POST /api/v1/sales and /stock, `storecast restore`, `storecast demo` (and its generated
 * chains), the demo seeding at `storecast serve`. A new write path calls it once, with the change
 * it made; a new after-effect is one more entry in DATA_CHANGED_STEPS.
 *
 * Writes keep the aggregates they change in their own transaction (src/data/rollup.ts); what
 * follows here reads committed rows, so a failing step loses no data: it is logged, the next
 * steps still run, and the next change (or the scheduled alert evaluation) catches up.
 */

/** Where a change came from: decides only what is done eagerly (see the segments step). */
export type ChangeOrigin = 'import' | 'ingest' | 'restore' | 'demo';

export interface DataChange {
  origin: ChangeOrigin;
  /** Where the rows came from, as import_runs records it (a file, api:<token>, a backup file). */
  source: string;
  /** The formats written; 'all' when the whole database was replaced (restore). */
  formats: readonly FormatName[] | 'all';
  /** Stores with accepted rows. */
  stores: readonly number[] | 'all';
  /** Store-weeks whose sales changed: their logged forecasts are scored. */
  changed: { weeks: readonly string[]; stores: readonly number[] } | 'all';
  /** Whether import_runs rows already record the change (the data stamp readers compare). */
  recorded: boolean;
}

/** The change a set of import reports made (dry runs change nothing). */
export function changeOfReports(origin: ChangeOrigin, source: string, reports: readonly ImportReport[]): DataChange {
  const written = reports.filter((r) => !r.dryRun);
  const union = <T>(lists: T[][], order: (a: T, b: T) => number) => [...new Set(lists.flat())].sort(order);
  const byNumber = (a: number, b: number) => a - b;
  return {
    origin,
    source,
    formats: [...new Set(written.filter((r) => r.accepted > 0).map((r) => r.format))],
    stores: union(written.filter((r) => r.accepted > 0).map((r) => r.stores), byNumber),
    changed: { weeks: union(written.map((r) => r.changed.weeks), (a, b) => a.localeCompare(b)), stores: union(written.map((r) => r.changed.stores), byNumber) },
    recorded: written.some((r) => r.runId !== undefined),
  };
}

/** A change to everything (a restored backup): every store, every week, every format. */
export function wholeDatabaseChange(origin: ChangeOrigin, source: string): DataChange {
  return { origin, source, formats: 'all', stores: 'all', changed: 'all', recorded: false };
}

const wrote = (change: DataChange, formats: readonly string[]) => change.formats === 'all' || change.formats.some((f) => formats.includes(f));

export type DataChangedDeps = EvaluateDeps & { logger?: Pick<Logger, 'error'> };

/** What the steps did; a step adds its own field. */
export interface DataChangedRun {
  /** Aggregates rebuilt from scratch (a database from before they existed, a restored old backup). */
  rebuiltAggregates?: boolean;
  /** An import_runs row written for a change that had none (restore): the data stamp moved. */
  stamped?: boolean;
  /** Logged forecasts (re)scored against new actuals. */
  scored?: number;
  /** Stores clustered again (0: the segments were fresh, or left to the next read). */
  segmented?: number;
  /** Whether demand forecasts of the changed stores were dropped. */
  demandInvalidated?: boolean;
  alerts?: EvaluationRun;
  /** Steps that failed (logged with the error); the others ran. */
  failed: string[];
  /** Milliseconds per step. */
  ms: Record<string, number>;
}

export interface ChangeStep {
  name: string;
  run(deps: DataChangedDeps, change: DataChange): Promise<Partial<Omit<DataChangedRun, 'failed' | 'ms'>>>;
}

/**
 * The after-effects of new data, in order. Steps that must happen once across replicas take a
 * database lock and check again under it (ensureAggregates, refreshSegments); the others are
 * idempotent and scoped to what this change touched, so two replicas running them for two
 * changes agree.
 */
export const DATA_CHANGED_STEPS: readonly ChangeStep[] = [
  {
    // Aggregates are kept by each write's own transaction; this builds them when they are missing
    // (sales from before they existed, a restored backup without them).
    name: 'rollups',
    run: async ({ db }) => ({ rebuiltAggregates: await ensureAggregates(db) }),
  },
  {
    // Readers cache by the newest succeeded import run (analytics/memo.ts, forecast/dataset.ts).
    // The stored forecasts follow this stamp too: every replica's StoredForecaster sees it move and,
    // once it has held 20 s (a chain-wide week arrives in several ingest calls), one replica claims
    // the precompute for the new origin (forecast/precompute.ts). It is not a step here because it
    // takes minutes and belongs to a serving replica or a job runner, never to an import command.
    name: 'stamp',
    run: async ({ db }, change) => {
      if (change.recorded) return { stamped: false };
      await db.orm.insert(importRuns).values({ source: change.source, format: change.origin, status: 'succeeded', finishedAt: sql`clock_timestamp()` });
      return { stamped: true };
    },
  },
  {
    // New actuals score the forecasts logged for their weeks (live accuracy, /model).
    name: 'forecast-log',
    run: async ({ db }, change) => ({ scored: await scoreForecastLog(db, change.changed === 'all' ? undefined : change.changed) }),
  },
  {
    // An import command or a restore clusters at once, so the first /segments after it stays
    // fast; an ingest call leaves it to the next read (its import run marks them stale):
    // clustering 4,600 stores would cost every call seconds.
    name: 'segments',
    run: async ({ db }, change) => ({ segmented: change.origin !== 'ingest' && wrote(change, SEGMENT_INPUTS) ? await refreshSegments(db) : 0 }),
  },
  {
    // New sales make the stores' demand forecasts (stock cover) stale.
    name: 'demand',
    run: async ({ db }, change) => {
      if (!wrote(change, ['train', 'walmart'])) return { demandInvalidated: false };
      if (change.stores === 'all') await db.query('DELETE FROM demand_forecasts');
      else await invalidateDemand(db, change.stores);
      return { demandInvalidated: true };
    },
  },
  {
    name: 'alerts',
    run: async (deps, change) => ({ alerts: await evaluateTouched(deps, { stores: change.stores, sales: wrote(change, ['train', 'walmart']), stock: wrote(change, ['stock']) }) }),
  },
];

/** Runs every step for one change; a step's failure is logged and named in `failed`. */
export async function dataChanged(deps: DataChangedDeps, change: DataChange, steps: readonly ChangeStep[] = DATA_CHANGED_STEPS): Promise<DataChangedRun> {
  const run: DataChangedRun = { failed: [], ms: {} };
  for (const step of steps) {
    const started = performance.now();
    try {
      Object.assign(run, await step.run(deps, change));
    } catch (err) {
      run.failed.push(step.name);
      deps.logger?.error({ err, step: step.name, origin: change.origin, source: change.source }, 'a step after new data failed; the data is kept');
    }
    run.ms[step.name] = Math.round(performance.now() - started);
  }
  return run;
}
