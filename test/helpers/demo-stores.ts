import type { Database } from '../../src/db/client.ts';
import { generateDemoData } from '../../src/data/demo.ts';
import { importRecords } from '../../src/data/import.ts';

/**
 * Loads the demo data of a few stores into a database of either kind (openTestDatabase is
 * PGlite only): stores, features and every department's 143 weeks of sales.
 */
export async function loadDemoStores(db: Database, stores: readonly number[]): Promise<void> {
  const demo = generateDemoData();
  const keep = new Set(stores.map(String));
  await importRecords(db, 'stores', 'test:stores', [demo.stores.filter((r) => keep.has(r[0]!))]);
  for (const r of demo.regions.filter((x) => keep.has(String(x.storeId)))) await db.query('UPDATE stores SET region = $2, timezone = $3 WHERE store_id = $1', [r.storeId, r.region, r.timezone]);
  const sales: string[][][] = [];
  for (const chunk of demo.sales) {
    const mine = chunk.filter((r) => keep.has(r[0]!));
    if (mine.length) sales.push(mine);
  }
  await importRecords(db, 'train', 'test:sales', sales);
}
