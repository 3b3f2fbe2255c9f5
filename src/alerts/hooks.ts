import type { Database } from '../db/client.ts';
import type { ImportReport } from '../data/import.ts';
import { invalidateDemand } from '../stock/demand.ts';
import { evaluateRules, rulesTouching, type EvaluateDeps, type EvaluationRun } from './evaluate.ts';

const SALES_FORMATS = new Set(['train', 'walmart']);

/** What a write touched, as alert evaluation needs it: its stores, and whether sales or stock moved. */
export interface Touched {
  stores: readonly number[] | 'all';
  sales: boolean;
  stock: boolean;
}

/** What a report's rows touched: sales formats move every rule on their stores, stock only stock rules. */
export function touchedBy(report: Pick<ImportReport, 'format' | 'stores' | 'dryRun' | 'accepted'>): Touched {
  const written = !report.dryRun && report.accepted > 0;
  return { stores: written ? report.stores : [], sales: written && SALES_FORMATS.has(report.format), stock: written && report.format === 'stock' };
}

async function storesOf(db: Database, stores: Touched['stores']): Promise<readonly number[]> {
  if (stores !== 'all') return stores;
  return (await db.query<{ store_id: number }>('SELECT store_id FROM stores ORDER BY store_id')).map((r) => r.store_id);
}

/**
 * Evaluates at once the rules whose scope holds a touched store (the scheduled evaluation
 * catches the rest). New sales may move every rule on their stores; new stock moves only stock
 * rules. Step "alerts" of the data-changed pipeline (src/data/changed.ts).
 */
export async function evaluateTouched(deps: EvaluateDeps, touched: Touched): Promise<EvaluationRun | undefined> {
  if (!touched.sales && !touched.stock) return undefined;
  const stores = await storesOf(deps.db, touched.stores);
  if (!stores.length) return undefined;
  const rules = await rulesTouching(deps.db, stores, touched.sales ? undefined : 'stock');
  return rules.length ? evaluateRules(deps, rules) : { evaluated: 0, fired: [], resolved: [], failed: [], ms: 0 };
}

/**
 * The alert half of the pipeline for one report (tests and benches that write with ingestJson
 * and evaluate in between): new sales drop the stores' demand forecasts first.
 */
export async function evaluateAfterImport(deps: EvaluateDeps, report: Pick<ImportReport, 'format' | 'stores' | 'dryRun' | 'accepted'>): Promise<EvaluationRun | undefined> {
  const touched = touchedBy(report);
  if (touched.sales) await invalidateDemand(deps.db, report.stores);
  return evaluateTouched(deps, touched);
}
