import type { ImportReport } from '../data/import.ts';
import { invalidateDemand } from '../stock/demand.ts';
import { evaluateRules, rulesTouching, type EvaluateDeps, type EvaluationRun } from './evaluate.ts';

const SALES_FORMATS = new Set(['train', 'walmart']);

/**
 * After an import or ingest: new sales make the stores' demand forecasts stale and may move
 * every rule on them; new stock moves only stock rules. The rules whose scope holds a touched
 * store are evaluated at once (the scheduled evaluation catches the rest).
 */
export async function evaluateAfterImport(deps: EvaluateDeps, report: Pick<ImportReport, 'format' | 'stores' | 'dryRun' | 'accepted'>): Promise<EvaluationRun | undefined> {
  if (report.dryRun || !report.accepted || !report.stores.length) return undefined;
  const sales = SALES_FORMATS.has(report.format);
  if (!sales && report.format !== 'stock') return undefined;
  if (sales) await invalidateDemand(deps.db, report.stores);
  const rules = await rulesTouching(deps.db, report.stores, sales ? undefined : 'stock');
  return rules.length ? evaluateRules(deps, rules) : { evaluated: 0, fired: [], resolved: [], failed: [], ms: 0 };
}
