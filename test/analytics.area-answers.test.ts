import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type Database } from '../src/db/client.ts';
import { importRecords } from '../src/data/import.ts';
import { areaDrivers, areaMarkdownImpact, refreshAreaAnswers, startAreaRefresh } from '../src/analytics/area-answers.ts';
import { createLogger } from '../src/logger.ts';
import { salesDrivers } from '../src/analytics/drivers.ts';
import { markdownImpact } from '../src/analytics/markdowns.ts';
import { dataVersion } from '../src/analytics/memo.ts';
import { loadPanelColumns } from '../src/analytics/panel.ts';
import type { Scope } from '../src/scope.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { askOk, testServices } from './helpers/services.ts';

/*
 * /drivers and /markdown-impact of an area are computed once per data version and stored for
 * every replica (analytics_results): a second replica reads them, an import makes them be
 * computed again, and the refresh after an import computes the chain's and every region's once
 * across replicas. Two Postgres connections stand for two replicas (each has its own
 * in-process memo); the PGlite run checks the same answers on the embedded database.
 */
const CHAIN: Scope = { kind: 'chain' };

const stored = (db: Database) => db.query<{ key: string; data_version: string; computed_at: string }>('SELECT key, data_version, computed_at::text FROM analytics_results ORDER BY key');

/** One more week of one department: a new import run, so a new data version. */
const importOneRow = (db: Database, sales: string) => importRecords(db, 'train', 'test:one-more', [[['1', '1', '2012-11-02', sales, 'FALSE']]]);

describe.each(DB_KINDS)('area answers stored for every replica (%s)', (kind) => {
  let t: TestDatabase;
  let replicaB: Database;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [1, 2, 3, 4, 5, 6]);
    // On PGlite there is one process: the "second replica" is the same database object.
    replicaB = t.url ? await openPostgres(t.url, { max: 2 }) : t.db;
  }, 120_000);
  afterAll(async () => {
    if (replicaB !== t.db) await replicaB.close();
    await t.cleanup();
  });

  it('the stored answer is the one computed directly, through JSON, for the chain and a region', async () => {
    for (const scope of [CHAIN, { kind: 'region', region: 'West' } satisfies Scope]) {
      const columns = await loadPanelColumns(t.db, scope);
      expect(await areaDrivers(t.db, scope)).toEqual(salesDrivers(columns));
      expect(await areaMarkdownImpact(t.db, scope)).toEqual(markdownImpact(columns));
    }
    const rows = await stored(t.db);
    expect(rows.map((r) => r.key)).toEqual(['drivers {"kind":"chain"}', 'drivers {"kind":"region","region":"West"}', 'markdown-impact {"kind":"chain"}', 'markdown-impact {"kind":"region","region":"West"}']);
    expect(new Set(rows.map((r) => r.data_version))).toEqual(new Set([await dataVersion(t.db)]));
  });

  it('another replica reads the stored answer instead of computing it; an import makes it computed again', async () => {
    const first = await areaDrivers(t.db, CHAIN);
    const [before] = (await stored(t.db)).filter((r) => r.key === 'drivers {"kind":"chain"}');
    const read = await areaDrivers(replicaB, CHAIN);
    expect(read).toEqual(first);
    const [after] = (await stored(t.db)).filter((r) => r.key === 'drivers {"kind":"chain"}');
    expect(after).toEqual(before); // not computed again: same version, same computed_at

    await importOneRow(t.db, '999999.00');
    const version = await dataVersion(t.db);
    expect(version).not.toBe(before!.data_version);
    const again = await areaDrivers(replicaB, CHAIN);
    expect(again!.storeWeeks).toBe(first!.storeWeeks + 1);
    const [now] = (await stored(t.db)).filter((r) => r.key === 'drivers {"kind":"chain"}');
    expect(now!.data_version).toBe(version);
    // The first replica's own memo is keyed by version too: it sees the new answer.
    expect(await areaDrivers(t.db, CHAIN)).toEqual(again);
  });

  it('the refresh computes the chain and every region once, across two replicas at the same time', async () => {
    await importOneRow(t.db, '1000.00');
    const regions = await t.db.query<{ region: string }>('SELECT DISTINCT region FROM stores WHERE region IS NOT NULL');
    const [a, b] = await Promise.all([refreshAreaAnswers(t.db), refreshAreaAnswers(replicaB)]);
    expect(a!.version).toBe(await dataVersion(t.db));
    expect(a!.computed + b!.computed).toBe(2 * (1 + regions.length));
    expect((await refreshAreaAnswers(t.db)).computed).toBe(0);
    const version = await dataVersion(t.db);
    expect((await stored(t.db)).filter((r) => r.data_version === version)).toHaveLength(2 * (1 + regions.length));
  });

  it('the background refresh computes them once the new data has held still, not before', async () => {
    await importOneRow(t.db, '2000.00');
    const version = await dataVersion(t.db);
    const atVersion = async () => (await stored(t.db)).filter((r) => r.data_version === version).length;
    const loop = startAreaRefresh({ db: replicaB, logger: createLogger('silent') }, { everyMs: 100, settleMs: 1_500 });
    try {
      await new Promise((r) => setTimeout(r, 700));
      expect(await atVersion()).toBe(0); // still settling: a chain-wide week arrives in several calls
      const deadline = Date.now() + 30_000;
      while ((await atVersion()) < 2 * 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await atVersion()).toBe(2 * 5); // the chain and the demo's four regions, both questions
    } finally {
      await loop.stop();
    }
  });

  it('/drivers chain through the services answers from the refreshed store', async () => {
    const services = testServices(replicaB);
    const reply = await askOk(services, '/drivers chain');
    const d = await areaDrivers(t.db, CHAIN);
    expect(reply.facts?.map((f) => f.label)).toEqual(d!.effects.map((e) => e.driver));
    expect(reply.chart?.spec).toBeTruthy();
  });
});
