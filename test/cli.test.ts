import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngSize } from '../charts/index.ts';
import { loadDemoData } from '../src/data/demo.ts';
import { runStorecast } from './helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const storecast = (args: string[], env: Record<string, string>) => runStorecast(args, env);

describe('storecast CLI', () => {
  let t: TestDatabase;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'storecast-cli-'));

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await loadDemoData(t.db);
    env = { DATABASE_URL: t.url! };
  });
  afterAll(() => t.cleanup());

  it('ask --json --out: 12 forecast weeks inside their intervals and a wide PNG', async () => {
    const out = join(dir, 'f.png');
    const r = await storecast(['ask', '/forecast store 5 week 12', '--json', '--out', out], env);
    expect(r.code).toBe(0);
    const reply = JSON.parse(r.stdout) as { data: { forecast: { lower: number; value: number; upper: number }[] } };
    expect(reply.data.forecast).toHaveLength(12);
    for (const p of reply.data.forecast) expect(p.lower <= p.value && p.value <= p.upper).toBe(true);
    expect(pngSize(readFileSync(out)).width).toBeGreaterThanOrEqual(1200);
  });

  it("models precompute (a job runner's task) also stores the chain's and every region's /drivers and /markdown-impact, once per data version", async () => {
    await t.db.query('DELETE FROM analytics_results');
    const regions = (await t.db.query<{ n: number }>('SELECT count(DISTINCT region)::int AS n FROM stores WHERE region IS NOT NULL'))[0]!.n;
    const first = await storecast(['models', 'precompute', '--json'], env);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'skipped', reason: 'no active model', areaAnswers: { computed: 2 * (1 + regions) } });
    const keys = (await t.db.query<{ key: string }>('SELECT key FROM analytics_results ORDER BY key')).map((r) => r.key);
    expect(keys).toContain('drivers {"kind":"chain"}');
    expect(keys).toContain('markdown-impact {"kind":"region","region":"West"}');
    const again = await storecast(['models', 'precompute'], env);
    expect(again.stdout).toContain('area answers (/drivers, /markdown-impact of the chain and regions): 0 computed');
  });

  it('ask exits 2 with usage for a bad store and suggests /forecast for /forcast', async () => {
    const bad = await storecast(['ask', '/forecast store 99'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Store 99 has no sales data/);
    expect(bad.stderr).toMatch(/Usage\s+\/forecast store N/);
    const typo = await storecast(['ask', '/forcast store 5', '--json'], env);
    expect(typo.code).toBe(2);
    expect(JSON.parse(typo.stdout)).toMatchObject({ error: { message: 'There is no /forcast command.', suggestion: '/forecast store 5', usage: expect.stringContaining('/forecast store N') } });
  });

  it('import reports bad rows as file:line: reason, keeps the rest and exits 0; stats --json', async () => {
    const fresh = { STORECAST_DATA_DIR: mkdtempSync(join(tmpdir(), 'storecast-data-')) };
    const r = await storecast(['import', fixture('train-mixed.csv'), fixture('stores-cr.csv')], fresh);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('train-mixed.csv:6: bad Date "2010-13-45" (expected YYYY-MM-DD)');
    expect(r.stderr).toContain('train-mixed.csv:11: unknown store 99 (import stores.csv first)');
    expect(r.stderr).toMatch(/warning: 5 rows rejected/);
    expect(r.stdout).toMatch(/train-mixed.csv \(train\): 12 rows read, 7 accepted \(7 new, 0 updated, 0 unchanged\), 5 rejected/);
    const stats = await storecast(['stats', '--json'], fresh);
    expect(JSON.parse(stats.stdout)).toMatchObject({ salesRows: 7, stores: 3, departments: 3, firstWeek: '2010-02-05', lastWeek: '2010-02-19' });
    const unknown = await storecast(['import', fixture('unknown-header.csv')], fresh);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unrecognised header[\s\S]*Accepted formats/);
  });

  it('import lists the first 100 rejected rows and counts the rest', async () => {
    const fresh = { STORECAST_DATA_DIR: mkdtempSync(join(tmpdir(), 'storecast-data-')) };
    const file = join(dir, 'bad-rows.csv');
    writeFileSync(file, `Store,Dept,Date,Weekly_Sales,IsHoliday\n${Array.from({ length: 150 }, (_, i) => `99,${i + 1},2010-02-05,5,FALSE`).join('\n')}\n`);
    const r = await storecast(['import', file], fresh);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter((line) => /^bad-rows\.csv:\d+: /.test(line))).toHaveLength(100);
    expect(r.stderr).toContain('bad-rows.csv: 50 more rejected rows not listed (the first 100 are above)');
    expect(r.stderr).toMatch(/warning: 150 rows rejected/);
    expect(r.stdout).toMatch(/bad-rows.csv \(train\): 150 rows read, 0 accepted .*, 150 rejected/);
  });

  it('alerts create checks its flags as /alert does: what was wrong, the usage and an example, exit 2, nothing stored', async () => {
    const create = (...flags: string[]) => storecast(['alerts', 'create', '--email', 'ops@example.com', ...flags], env);
    const word = await create('--kind', 'stock', '--store', 'abc', '--below-weeks', '2');
    expect(word.code).toBe(2);
    expect(word.stderr).toContain('store must be a whole number, got "abc".');
    expect(word.stderr).toMatch(/Usage: storecast alerts create --kind stock\|sales \(--store N \| --region NAME \| --chain\)/);
    expect(word.stderr).toContain('Example: storecast alerts create --kind stock --store 5 --below-weeks 2 --email ops@example.com');
    // The limits of chat: store 1-99999 (as imports), a cover threshold up to 26 weeks, a percentage under 100.
    for (const [flags, reason] of [
      [['--kind', 'stock', '--store', '0', '--below-weeks', '2'], 'store 0 is out of range: use 1 to 99999.'],
      [['--kind', 'stock', '--store', '5', '--dept', '7.5', '--below-weeks', '2'], 'dept must be a whole number, got "7.5".'],
      [['--kind', 'stock', '--store', '5', '--below-weeks', '40'], 'threshold in weeks of cover'],
      [['--kind', 'sales', '--region', 'West', '--drop-pct', '150'], 'must be a percentage between 0 and 100'],
    ] as const) {
      const r = await create(...flags);
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(reason)]);
      expect(r.stderr).toContain('Usage: storecast alerts create');
    }
    expect(JSON.parse((await storecast(['alerts', '--json'], env)).stdout)).toEqual([]);

    const stock = await create('--kind', 'stock', '--store', '5', '--dept', '7', '--below-weeks', '1.5', '--basis', 'median');
    expect([stock.code, stock.stdout]).toEqual([0, expect.stringMatching(/^alr_[0-9a-f]+: Store 5 · Dept 7: stock cover below 1.5 weeks at median demand -> email/)]);
    const sales = await create('--kind', 'sales', '--chain', '--below-forecast', '--pct', '10', '--json');
    expect(JSON.parse(sales.stdout)).toMatchObject({ scope: { kind: 'chain' }, condition: { type: 'below-forecast', pct: 10 } });
  });

  it('refuses bad configuration with one line per variable', async () => {
    const r = await storecast(['stats'], { DATABASE_URL: 'mysql://nope', PORT: 'abc' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PORT="abc": /);
    // The URL may carry a password: its length is shown, never its text.
    expect(r.stderr).toMatch(/DATABASE_URL=\(12 characters, not shown\): must start with postgres:\/\//);
    expect(r.stderr).not.toContain('nope');
  });
});
