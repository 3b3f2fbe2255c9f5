/**
 * Backup and restore timings on the real Walmart data (demo data when it is absent):
 *
 *   npx tsx bench/backup.ts
 *
 * Loads the data into an in-memory PGlite, then times `backup` (one snapshot, gzip), the
 * checksums, and `restore` into a fresh PGlite and a fresh Postgres (TEST_DATABASE_URL).
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFiles } from '../src/data/import.ts';
import { loadDemoData } from '../src/data/demo.ts';
import { backupToFile, restoreFromFile, tableChecksums } from '../src/db/backup.ts';
import { createTestDatabase } from '../test/helpers/db.ts';

const DIR = '/work/shared/data/walmart';
const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  const result = await work();
  console.log(`${label.padEnd(34)} ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s`);
  return result;
};

const dir = mkdtempSync(join(tmpdir(), 'storecast-bench-backup-'));
const source = await createTestDatabase('pglite');
await timed('load data', async () => (existsSync(`${DIR}/train.csv`) ? importFiles(source.db, [`${DIR}/stores.csv`, `${DIR}/features.csv`, `${DIR}/train.csv`]) : loadDemoData(source.db)));
const file = join(dir, 'backup.jsonl.gz');
const { tables } = await timed('backup (PGlite)', () => backupToFile(source.db, file));
const rows = tables.reduce((a, t) => a + t.rows, 0);
console.log(`  ${tables.length} tables, ${rows.toLocaleString('en-US')} rows, ${(statSync(file).size / 1e6).toFixed(1)} MB gzip`);
const want = await timed('checksums (PGlite)', () => tableChecksums(source.db));
for (const kind of ['pglite', 'postgres'] as const) {
  const target = await createTestDatabase(kind);
  await timed(`restore into ${kind}`, () => restoreFromFile(target.db, file));
  const got = await timed(`checksums (${kind})`, () => tableChecksums(target.db));
  console.log(`  identical: ${JSON.stringify(got) === JSON.stringify(want)}`);
  await target.cleanup();
}
await source.cleanup();
rmSync(dir, { recursive: true, force: true });
