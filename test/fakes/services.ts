import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { generateDemoData } from '../../src/data/demo.ts';
import { importRecords } from '../../src/data/import.ts';
import { SeasonalNaiveForecaster } from '../../src/forecast/seasonal-naive.ts';
import { createLogger } from '../../src/logger.ts';
import { createServices, type Services } from '../../src/services.ts';

/**
 * Real services on an in-memory Postgres (PGlite) holding the demo data of a few stores
 * (all of their departments, all 143 weeks): the full demo set takes several seconds more
 * and the adapters do not need 45 stores.
 */
export async function openTestDatabase(stores: readonly number[] = [1, 5, 7]): Promise<Database> {
  const db = await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
  const demo = generateDemoData();
  const keep = new Set(stores.map(String));
  await importRecords(db, 'stores', 'test:stores', [demo.stores.filter((r) => keep.has(r[0]!))]);
  await importRecords(db, 'features', 'test:features', [demo.features.filter((r) => keep.has(r[0]!))]);
  const sales: string[][][] = [];
  for (const chunk of demo.sales) {
    const mine = chunk.filter((r) => keep.has(r[0]!));
    if (mine.length) sales.push(mine);
  }
  await importRecords(db, 'train', 'test:sales', sales);
  return db;
}

export function testServices(db: Database, env: Record<string, string | undefined>): Services {
  return createServices({
    config: loadConfig({ LOG_LEVEL: 'silent', ...env }),
    db,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    forecaster: new SeasonalNaiveForecaster(),
  });
}
