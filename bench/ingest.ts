// Rows/s of importing the real train.csv (421,570 rows) into PGlite and into Postgres.
// Targets on the 2-core machine: < 10 s into PGlite, < 5 s into Postgres.
// Run: npx tsx bench/ingest.ts
import { importFiles } from '../src/data/import.ts';
import { createTestDatabase, type DbKind } from '../test/helpers/db.ts';
import { requireWalmart } from './walmart.ts';

const [stores, train] = requireWalmart('stores.csv', 'train.csv');

for (const kind of ['pglite', 'postgres'] as DbKind[]) {
  const t = await createTestDatabase(kind);
  try {
    await importFiles(t.db, [stores!]);
    const started = performance.now();
    const [first] = await importFiles(t.db, [train!]);
    const fresh = (performance.now() - started) / 1000;
    const again = performance.now();
    const [second] = await importFiles(t.db, [train!]);
    const rerun = (performance.now() - again) / 1000;
    console.log(
      `${kind.padEnd(8)} train.csv ${first!.accepted} rows: fresh ${fresh.toFixed(2)} s (${Math.round(first!.accepted / fresh).toLocaleString('en-US')} rows/s), ` +
        `re-import ${rerun.toFixed(2)} s (${second!.unchanged} unchanged)`,
    );
  } finally {
    await t.cleanup();
  }
}
