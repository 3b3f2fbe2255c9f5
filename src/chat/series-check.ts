import type { Database } from '../db/client.ts';
import { UserError } from './errors.ts';

/** Refuses a store or store x dept with no sales, naming what does exist. */
export async function requireSeries(db: Database, store: number, dept?: number): Promise<void> {
  const [known] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM store_week_sales WHERE store_id = $1', [store]);
  if (known && known.n > 0) return requireDept(db, store, dept);
  // Only a refusal names what exists: counting every store's weeks on each request would not stay flat.
  const [s] = await db.query<{ lo: number | null; hi: number | null; count: number }>(
    `SELECT min(store_id) AS lo, max(store_id) AS hi, count(*)::int AS count FROM stores WHERE EXISTS (SELECT 1 FROM store_week_sales w WHERE w.store_id = stores.store_id)`,
  );
  if (!s || s.count === 0) throw new UserError('No sales data is loaded yet. Import some with `storecast import` (or run `storecast demo`).', { code: 'NO_DATA' });
  throw new UserError(`Store ${store} has no sales data. Stores with data: ${s.lo}-${s.hi} (${s.count} stores).`, {
    code: 'UNKNOWN_STORE',
    suggestion: `store ${Math.min(Math.max(store, s.lo!), s.hi!)}`,
  });
}

async function requireDept(db: Database, store: number, dept: number | undefined): Promise<void> {
  if (dept === undefined) return;
  // One primary-key probe on the way through; listing the store's departments reads every row of
  // the store (~11k at 143 weeks, scattered over the heap: ~0.4 s at 4,600 stores), so only a
  // refusal pays for it.
  const [hit] = await db.query<{ ok: number }>('SELECT 1 AS ok FROM weekly_sales WHERE store_id = $1 AND dept_id = $2 LIMIT 1', [store, dept]);
  if (hit) return;
  const depts = await db.query<{ dept_id: number }>('SELECT DISTINCT dept_id FROM weekly_sales WHERE store_id = $1 ORDER BY dept_id', [store]);
  if (!depts.some((d) => d.dept_id === dept)) {
    const list = depts.map((d) => d.dept_id);
    const near = list.reduce<number | undefined>((best, d) => (best === undefined || Math.abs(d - dept) < Math.abs(best - dept) ? d : best), undefined);
    throw new UserError(
      list.length
        ? `Store ${store} has no sales in department ${dept}. It has ${list.length} departments: ${list.slice(0, 20).join(', ')}${list.length > 20 ? ', ...' : ''}.`
        : `Store ${store} has store-level totals only, no department detail.`,
      { code: 'UNKNOWN_DEPT', suggestion: near !== undefined ? `store ${store} dept ${near}` : `store ${store}` },
    );
  }
}
