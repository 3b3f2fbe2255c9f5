import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client.ts';
import { addWeeks } from '../data/weeks.ts';
import { isNoData, type ForecastResult, type Forecaster } from '../forecast/forecaster.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { stockAtRisk, type StockAtRisk, type Thresholds } from '../stock/at-risk.ts';
import { byRisk } from '../stock/positions.ts';
import { describeScope, scopeArea, scopeDept, type DeptAreaScope } from '../scope.ts';
import { describeCondition, ruleScope, type AlertCondition, type AlertRuleRow } from './rules.ts';

/**
 * Evaluates alert rules and moves each through its episodes. A rule opens an episode
 * (ok -> firing, episode + 1) and closes it (firing -> ok) only through a conditional UPDATE
 * in the transaction that queues the notice, unique per rule x episode x kind: replicas that
 * evaluate the same rule at once open one episode and queue one notice between them.
 */
export interface EvaluateDeps {
  db: Database;
  forecaster: Forecaster;
  logger?: Logger;
  metrics?: Pick<Metrics, 'errors'>;
}

export interface Evaluation {
  firing: boolean;
  detail: Record<string, unknown>;
}

export interface EvaluationRun {
  evaluated: number;
  fired: string[];
  resolved: string[];
  /** Rules whose evaluation failed (a forecaster or database error): their state is left as it was. */
  failed: string[];
  ms: number;
}

/** What one run shares between rules: store lists and the stock of their stores, read once. */
class RunCache {
  private regions?: Promise<Map<string, number[]>>;
  private forecasts = new Map<string, Promise<ForecastResult | undefined>>();
  constructor(private readonly deps: EvaluateDeps) {}

  /** One store's (or store x dept's) forecast of `week` from the week before, once per run: region and chain rules share them. */
  forecastOfWeek(store: number, dept: number | undefined, week: string): Promise<ForecastResult | undefined> {
    const key = `${store}/${dept ?? ''}/${week}`;
    let hit = this.forecasts.get(key);
    if (!hit) {
      // A store without sales before the week is left out of the sum; any other error fails the
      // rule's evaluation (as "not firing" it would resolve the episode, to fire again later).
      hit = this.deps.forecaster.forecast(this.deps.db, { store, dept }, 1, { origin: addWeeks(week, -1) }).catch((err: unknown) => {
        if (isNoData(err)) return undefined;
        throw err;
      });
      this.forecasts.set(key, hit);
    }
    return hit;
  }

  async storesOf(scope: DeptAreaScope): Promise<number[] | 'all'> {
    const area = scopeArea(scope);
    if (area.kind === 'store') return [area.store];
    if (area.kind === 'chain') return 'all';
    this.regions ??= this.deps.db.query<{ store_id: number; region: string }>('SELECT store_id, lower(region) AS region FROM stores WHERE region IS NOT NULL').then((rows) => {
      const map = new Map<string, number[]>();
      for (const r of rows) map.set(r.region, [...(map.get(r.region) ?? []), r.store_id]);
      return map;
    });
    return (await this.regions).get(area.region.toLowerCase()) ?? [];
  }

  private lastWeeks?: Promise<Map<number, string>>;
  private weekSales = new Map<string, Promise<Map<number, number>>>();

  /** Each store's last week with sales, and the store totals of a week: read once per run from store_week_sales. */
  lastWeekOf(): Promise<Map<number, string>> {
    this.lastWeeks ??= this.deps.db
      .query<{ j: string | null }>('SELECT json_agg(json_build_array(store_id, week))::text AS j FROM (SELECT store_id, max(week) AS week FROM store_week_sales GROUP BY store_id) x')
      .then(([r]) => new Map(JSON.parse(r?.j ?? '[]') as [number, string][]));
    return this.lastWeeks;
  }

  salesOfWeek(week: string): Promise<Map<number, number>> {
    let hit = this.weekSales.get(week);
    if (!hit) {
      hit = this.deps.db
        .query<{ j: string | null }>('SELECT json_agg(json_build_array(store_id, sales))::text AS j FROM store_week_sales WHERE week = $1::date', [week])
        .then(([r]) => new Map(JSON.parse(r?.j ?? '[]') as [number, number][]));
      this.weekSales.set(week, hit);
    }
    return hit;
  }

  private stock?: Promise<StockAtRisk>;

  /**
   * Reads the stock of every store any stock rule of the run watches, once, keeping the covers
   * that may be below the loosest threshold of each basis (rules filter their own).
   */
  async prepare(rows: readonly AlertRuleRow[]): Promise<void> {
    const rules = rows.filter((r) => r.kind === 'stock');
    const lists = await Promise.all(rules.map((r) => this.storesOf(ruleScope(r))));
    if (!lists.length) return;
    const union = lists.includes('all') ? 'all' : [...new Set(lists.flat() as number[])].sort((a, b) => a - b);
    this.stock = stockAtRisk(this.deps.db, this.deps.forecaster, union, loosest(rules.map((r) => r.condition)));
    // Each stock rule awaits it and fails with its error; until the first does, a rejection
    // (a forecaster or database failure) must not count as unhandled, which ends the process.
    this.stock.catch(() => {});
  }

  /** The prepared stock (a superset of these stores), or these stores' for this one condition. */
  stockOf(stores: number[] | 'all', c: CoverBelow): Promise<StockAtRisk> {
    return this.stock ?? stockAtRisk(this.deps.db, this.deps.forecaster, stores, loosest([c]));
  }
}

type CoverBelow = Extract<AlertCondition, { type: 'cover-below' }>;

/** The highest threshold of each basis among stock conditions (0: none on that basis). */
function loosest(conditions: readonly AlertCondition[]): Thresholds {
  const t: Thresholds = { median: 0, p90: 0 };
  for (const c of conditions) if (c.type === 'cover-below') t[c.basis] = Math.max(t[c.basis], c.weeks);
  return t;
}

const r1 = (v: number) => Math.round(v * 10) / 10;

async function evaluateStock(cache: RunCache, scope: DeptAreaScope, c: CoverBelow): Promise<Evaluation> {
  const stores = await cache.storesOf(scope);
  const stock = await cache.stockOf(stores, c);
  const dept = scopeDept(scope);
  const wanted = stores === 'all' ? undefined : new Set(stores);
  const counted = (wanted ? [...wanted].map((s) => stock.counted.get(s) ?? []) : [...stock.counted.values()]).flat().filter((d) => dept === undefined || d.dept === dept);
  const covers = wanted ? [...wanted].flatMap((s) => stock.coversBy.get(s) ?? []) : stock.covers;
  const low = covers.filter((d) => (dept === undefined || d.dept === dept) && d.cover && d.cover[c.basis].weeks !== null && d.cover[c.basis].weeks! < c.weeks).sort(byRisk);
  return {
    firing: low.length > 0,
    detail: {
      checked: counted.length,
      asOf: counted.reduce<string | null>((max, d) => (max === null || d.asOf > max ? d.asOf : max), null),
      atRisk: low.length,
      departments: low.slice(0, 50).map((d) => ({
        store: d.store,
        dept: d.dept,
        weeks: r1(d.cover![c.basis].weeks!),
        runOutWeek: d.cover![c.basis].runOutWeek,
        median: d.cover!.median.weeks === null ? null : r1(d.cover!.median.weeks),
        p90: d.cover!.p90.weeks === null ? null : r1(d.cover!.p90.weeks),
        onHand: d.position.onHand,
        reorder: d.cover!.reorder,
        leadTimeWeeks: d.cover!.leadTimeWeeks,
      })),
    },
  };
}

/** Last week's sales of the scope: the store-week totals (read once per run), or one store x department. */
async function lastWeekSales(db: Database, cache: RunCache, stores: number[] | 'all', dept: number | undefined): Promise<{ week: string; actual: number } | undefined> {
  if (dept !== undefined) {
    const [row] = await db.query<{ week: string; sales: number }>('SELECT week::text AS week, sales FROM weekly_sales WHERE store_id = $1 AND dept_id = $2 ORDER BY week DESC LIMIT 1', [(stores as number[])[0], dept]);
    return row ? { week: row.week, actual: Number(row.sales) } : undefined;
  }
  const last = await cache.lastWeekOf();
  const mine = stores === 'all' ? [...last.keys()] : stores.filter((s) => last.has(s));
  const week = mine.map((s) => last.get(s)!).sort().at(-1);
  if (!week) return undefined;
  return { week, actual: sumOf(await cache.salesOfWeek(week), stores) };
}

const sumOf = (byStore: Map<number, number>, stores: number[] | 'all') => (stores === 'all' ? [...byStore.values()] : stores.map((s) => byStore.get(s) ?? 0)).reduce((a, v) => a + v, 0);

async function storeList(db: Database, stores: number[] | 'all'): Promise<number[]> {
  if (stores !== 'all') return stores;
  return (await db.query<{ store_id: number }>('SELECT store_id FROM stores ORDER BY store_id')).map((r) => r.store_id);
}

/** The one-week-ahead forecast of last week, made from the weeks before it, summed over the stores. */
async function forecastOf(cache: RunCache, stores: number[], dept: number | undefined, week: string) {
  let median = 0;
  let lo = [0, 0];
  let hi = [0, 0];
  let model = '';
  for (const store of stores) {
    const r = await cache.forecastOfWeek(store, dept, week);
    const p = r?.points[0];
    if (!r || !p || p.week !== week) continue;
    model = r.model;
    median += p.value;
    lo = [lo[0]! + (p.value - p.lower) ** 2, lo[1]! + (p.value - p.lower)];
    hi = [hi[0]! + (p.upper - p.value) ** 2, hi[1]! + (p.upper - p.value)];
  }
  // Stores' errors are partly correlated: between independent and fully correlated (as the model forecaster sums departments).
  const half = (w: number[]) => (stores.length === 1 ? w[1]! : (Math.sqrt(w[0]!) + w[1]!) / 2);
  return { median, lower: median - half(lo), upper: median + half(hi), model };
}

async function evaluateSales(deps: EvaluateDeps, cache: RunCache, scope: DeptAreaScope, c: Exclude<AlertCondition, { type: 'cover-below' }>): Promise<Evaluation> {
  const stores = await cache.storesOf(scope);
  const last = await lastWeekSales(deps.db, cache, stores, scopeDept(scope));
  if (!last) return { firing: false, detail: { note: 'no sales data in scope' } };
  if (c.type === 'drop-vs-last-year') {
    const a = await cache.salesOfWeek(addWeeks(last.week, -52));
    const before = (stores === 'all' ? a.size : stores.filter((x) => a.has(x)).length) ? sumOf(a, stores) : undefined;
    if (!before) return { firing: false, detail: { week: last.week, actual: last.actual, note: 'no sales in the same week last year' } };
    const change = last.actual / before - 1;
    return { firing: change <= -c.pct / 100, detail: { week: last.week, actual: r1(last.actual), lastYear: r1(before), change: Math.round(change * 1000) / 1000 } };
  }
  const f = await forecastOf(cache, await storeList(deps.db, stores), scopeDept(scope), last.week);
  const threshold = c.pct === undefined ? f.lower : f.median * (1 - c.pct / 100);
  return {
    firing: f.model !== '' && last.actual < threshold,
    detail: { week: last.week, actual: r1(last.actual), median: r1(f.median), lower: r1(f.lower), upper: r1(f.upper), threshold: r1(threshold), model: f.model },
  };
}

export async function evaluateRule(deps: EvaluateDeps, cache: RunCache, row: AlertRuleRow): Promise<Evaluation> {
  const scope = ruleScope(row);
  const c = row.condition;
  const result = c.type === 'cover-below' ? await evaluateStock(cache, scope, c) : await evaluateSales(deps, cache, scope, c);
  return { ...result, detail: { ...result.detail, scope: describeScope(scope), condition: describeCondition(row.kind, c) } };
}

/** Opens or closes the rule's episode (once across replicas) and queues its notice; returns what changed. */
async function record(db: Database, row: AlertRuleRow, e: Evaluation, now: Date): Promise<'fired' | 'resolved' | undefined> {
  return db.transaction(async (tx) => {
    const at = now.toISOString();
    const detail = JSON.stringify(e.detail);
    const moved = e.firing
      ? await tx.query<{ episode: number }>(
          `UPDATE alert_rules SET state = 'firing', episode = episode + 1, firing_since = $2, last_evaluated_at = $2, last_result = $3::jsonb
           WHERE id = $1 AND state = 'ok' AND deleted_at IS NULL RETURNING episode`,
          [row.id, at, detail],
        )
      : await tx.query<{ episode: number }>(
          `UPDATE alert_rules SET state = 'ok', firing_since = NULL, last_evaluated_at = $2, last_result = $3::jsonb
           WHERE id = $1 AND state = 'firing' AND deleted_at IS NULL RETURNING episode`,
          [row.id, at, detail],
        );
    if (!moved.length) {
      await tx.query('UPDATE alert_rules SET last_evaluated_at = $2, last_result = $3::jsonb WHERE id = $1', [row.id, at, detail]);
      return undefined;
    }
    const kind = e.firing ? 'firing' : 'resolved';
    await tx.query(
      `INSERT INTO alert_notifications (id, rule_id, episode, kind, detail, next_attempt_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)
       ON CONFLICT (rule_id, episode, kind) DO NOTHING`,
      [randomUUID(), row.id, moved[0]!.episode, kind, detail, at],
    );
    return e.firing ? 'fired' : 'resolved';
  });
}

/** Evaluates the rules given (one shared read of their stock), recording each transition. */
export async function evaluateRules(deps: EvaluateDeps, rows: readonly AlertRuleRow[], now = new Date()): Promise<EvaluationRun> {
  const started = performance.now();
  const cache = new RunCache(deps);
  const run: EvaluationRun = { evaluated: 0, fired: [], resolved: [], failed: [], ms: 0 };
  await cache.prepare(rows);
  const unchanged: { id: string; result: Record<string, unknown> }[] = [];
  for (const row of rows) {
    try {
      const e = await evaluateRule(deps, cache, row);
      run.evaluated++;
      // Most evaluations change nothing: their results are written together below. A state
      // read before another replica moved it is caught by the next evaluation.
      if (e.firing === (row.state === 'firing')) {
        unchanged.push({ id: row.id, result: e.detail });
        continue;
      }
      const change = await record(deps.db, row, e, now);
      if (change === 'fired') run.fired.push(row.id);
      if (change === 'resolved') run.resolved.push(row.id);
    } catch (err) {
      // Nothing is known about the rule's condition: its episode stays open (or closed) until
      // an evaluation succeeds.
      run.failed.push(row.id);
      deps.metrics?.errors.inc({ kind: 'alert-evaluation' });
      deps.logger?.error({ err, rule: row.id }, 'alert rule evaluation failed; its state is unchanged');
    }
  }
  if (unchanged.length) {
    await deps.db.query(
      `UPDATE alert_rules r SET last_evaluated_at = $2, last_result = x.result
       FROM jsonb_to_recordset($1::jsonb) AS x(id text, result jsonb) WHERE r.id = x.id`,
      [JSON.stringify(unchanged), now.toISOString()],
    );
  }
  run.ms = Math.round(performance.now() - started);
  return run;
}

/** The live rules whose scope includes any of `stores` (chain rules always). */
export async function rulesTouching(db: Database, stores: readonly number[], kind?: 'stock' | 'sales'): Promise<AlertRuleRow[]> {
  return db.query<AlertRuleRow>(
    `SELECT * FROM alert_rules r WHERE deleted_at IS NULL AND ($2::text IS NULL OR kind = $2)
       AND (scope_kind = 'chain'
         OR (scope_kind = 'store' AND scope_value = ANY($1::text[]))
         OR (scope_kind = 'region' AND EXISTS (SELECT 1 FROM stores s WHERE lower(s.region) = lower(r.scope_value) AND s.store_id = ANY($3::int[]))))
     ORDER BY id`,
    [stores.map(String), kind ?? null, stores],
  );
}
