import type { Database } from '../db/client.ts';
import { prng } from '../util/random.ts';
import { importRecords, type ImportReport } from './import.ts';
import { addWeeks } from './weeks.ts';

/**
 * Demo stock snapshots, consistent with the demo sales already loaded: each department's stock
 * on the last sales week is a few weeks of its recent sales, and two or three departments per
 * store run low (under two weeks), so `/stock store 5` has something to warn about. Kept apart
 * from demo.ts (the sales generator); the demo loader calls both.
 */
export const DEMO_STOCK_SEED = 20121026;

interface RecentSales {
  store_id: number;
  dept_id: number;
  last_week: string;
  avg_sales: number | string;
}

/** Rows in the stock format's column order (Store, Dept, Date, On_Hand, On_Order, On_Order_Date, Lead_Time_Weeks). */
export async function generateDemoStock(db: Database, seed = DEMO_STOCK_SEED): Promise<string[][]> {
  // Once at load time, not on a request: the average of each department's last 8 weeks.
  const recent = await db.query<RecentSales>(
    `WITH last AS (SELECT max(week) AS w FROM weekly_sales)
     SELECT store_id, dept_id, (SELECT w FROM last)::text AS last_week, avg(sales) AS avg_sales
     FROM weekly_sales WHERE week > (SELECT w FROM last) - 56 GROUP BY store_id, dept_id ORDER BY store_id, dept_id`,
  );
  const rows: string[][] = [];
  let store = -1;
  let rand = prng(seed);
  let low = new Set<number>();
  const byStore = new Map<number, RecentSales[]>();
  for (const r of recent) byStore.set(r.store_id, [...(byStore.get(r.store_id) ?? []), r]);
  for (const r of recent) {
    if (r.store_id !== store) {
      store = r.store_id;
      rand = prng(seed + store);
      // The low ones are mid-sized departments, so they matter on the chart.
      const depts = (byStore.get(store) ?? []).filter((d) => Number(d.avg_sales) > 2000).map((d) => d.dept_id);
      low = new Set(Array.from({ length: 2 + Math.floor(rand() * 2) }, () => depts[Math.floor(rand() * depts.length)]!));
    }
    const weekly = Math.max(0, Number(r.avg_sales));
    const lead = 1 + Math.floor(rand() * 3);
    // Healthy: well past lead time + a review week, even through the November holidays.
    const weeks = low.has(r.dept_id) ? 0.4 + rand() * 1.2 : lead + 4 + rand() * 8;
    // Some healthy departments have an order on its way.
    const order = !low.has(r.dept_id) && rand() < 0.25 ? [(weekly * (2 + rand() * 2)).toFixed(2), addWeeks(r.last_week, 1 + Math.floor(rand() * 3))] : ['', ''];
    rows.push([String(r.store_id), String(r.dept_id), r.last_week, (weekly * weeks).toFixed(2), ...order, String(lead)]);
  }
  return rows;
}

export async function loadDemoStock(db: Database, seed = DEMO_STOCK_SEED): Promise<ImportReport> {
  return importRecords(db, 'stock', 'demo:stock', [await generateDemoStock(db, seed)]);
}
