import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateAfterImport } from '../src/alerts/hooks.ts';
import { createRule } from '../src/alerts/rules.ts';
import { importFile } from '../src/data/import.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { DB_KINDS, createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

const WALMART = '/work/shared/data/walmart/Walmart.csv';
const present = existsSync(WALMART);
if (!present) console.warn(`skipping the real-data alert test: ${WALMART} is absent`);

/**
 * Store 18's week ending 2011-09-02 (Hurricane Irene crossed the Northeast on Aug 27-28):
 * $540,923 of sales where the forecast made the week before expected about $1.12M, far under
 * its 80% interval. The weeks before it are ordinary. Real data, store-level Walmart.csv.
 */
const STORE = 18;
const UNUSUAL = '2011-09-02';

function rowsOfStore(until: string): string {
  const [header, ...lines] = readFileSync(WALMART, 'utf8').trim().split(/\r?\n/);
  const iso = (d: string) => {
    const [dd, mm, yy] = d.split(/[/-]/);
    return `${yy!.length === 2 ? `20${yy}` : yy}-${mm}-${dd}`;
  };
  const mine = lines.filter((l) => l.startsWith(`${STORE},`) && iso(l.split(',')[1]!) <= until);
  return `${header}\n${mine.join('\n')}\n`;
}

describe.skipIf(!present).each(DB_KINDS)('a sales-below-forecast alert on real Walmart data (%s)', (kind) => {
  let t: TestDatabase;
  let dir: string;
  const deps = () => ({ db: t.db, forecaster: new SeasonalNaiveForecaster() });
  const load = async (until: string) => {
    const path = join(dir, `walmart-${until}.csv`);
    writeFileSync(path, rowsOfStore(until));
    return importFile(t.db, path);
  };

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    dir = mkdtempSync(join(tmpdir(), 'storecast-walmart-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t?.cleanup();
  });

  it(`stays quiet through store ${STORE}'s ordinary weeks and fires on the week ending ${UNUSUAL}`, async () => {
    await load('2011-08-26');
    const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'sales', scope: { kind: 'store', store: STORE }, condition: { type: 'below-forecast' }, target: { kind: 'email', address: 'ops@example.com' } }, createOutbound());
    const quiet = await evaluateAfterImport(deps(), await load('2011-08-26'));
    expect(quiet).toMatchObject({ evaluated: 1, fired: [] });

    const report = await load(UNUSUAL);
    expect(report.stores).toEqual([STORE]);
    const run = await evaluateAfterImport(deps(), report);
    expect(run?.fired).toEqual([rule.id]);
    const [notice] = await t.db.query<{ detail: { week: string; actual: number; median: number; lower: number } }>("SELECT detail FROM alert_notifications WHERE rule_id = $1 AND kind = 'firing'", [rule.id]);
    expect(notice!.detail.week).toBe(UNUSUAL);
    expect(notice!.detail.actual).toBeCloseTo(540922.9, 0);
    expect(notice!.detail.actual).toBeLessThan(notice!.detail.lower);
    expect(notice!.detail.actual / notice!.detail.median).toBeLessThan(0.6);
  });
});
