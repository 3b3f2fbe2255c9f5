import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO, generateChain, generateDemoData, writeChainCsv } from '../src/data/demo.ts';

const flat = (chunks: Iterable<string[][]>) => [...chunks].flat();

describe('generated chains (storecast demo --stores N)', () => {
  it('start with exactly the demo: 45 stores are the demo data set', () => {
    const demo = generateDemoData();
    const chain = generateChain(DEMO.stores);
    expect(chain.stores).toEqual(demo.stores);
    expect(chain.regions).toEqual(demo.regions);
    expect(flat(chain.features)).toEqual(demo.features);
    expect(flat(chain.sales)).toEqual(flat(demo.sales));
  });

  it('are deterministic, and a smaller chain is a prefix of a larger one', () => {
    const small = generateChain(48);
    const large = generateChain(52);
    expect(large.stores.slice(0, 48)).toEqual(small.stores);
    const store47 = (rows: string[][]) => rows.filter((r) => r[0] === '47');
    expect(store47(flat(large.sales))).toEqual(store47(flat(generateChain(48).sales)));
    expect(store47(flat(large.features))).toEqual(store47(flat(small.features)));
  });

  it('keep the demo realism past store 45: types, sizes, regions, departments, holidays, markdowns', () => {
    const chain = generateChain(120);
    const extra = chain.stores.slice(DEMO.stores);
    expect(new Set(extra.map((s) => s[1]))).toEqual(new Set(['A', 'B', 'C']));
    for (const [, type, size] of extra) {
      const n = Number(size);
      if (type === 'A') expect(n).toBeGreaterThanOrEqual(150_000);
      if (type === 'C') expect(n).toBeLessThan(45_001);
    }
    expect(new Set(chain.regions.slice(DEMO.stores).map((r) => r.region))).toEqual(new Set(['Northeast', 'South', 'Midwest', 'West']));
    const sales = flat(chain.sales).filter((r) => Number(r[0]) > DEMO.stores);
    expect(sales.length + flat(generateChain(DEMO.stores).sales).length).toBe(chain.salesRows);
    // Thanksgiving lifts the chain's week over the week before it; the week is flagged.
    const week = (w: string) => sales.filter((r) => r[2] === w).reduce((a, r) => a + Number(r[3]), 0);
    expect(week('2011-11-25') / week('2011-11-18')).toBeGreaterThan(1.15);
    expect(sales.find((r) => r[2] === '2011-11-25')![4]).toBe('TRUE');
    const features = flat(chain.features).filter((r) => Number(r[0]) > DEMO.stores);
    expect(features.filter((r) => r[1]! < '2011-11-11').every((r) => r[4] === 'NA')).toBe(true);
    expect(features.some((r) => r[1]! >= '2011-11-11' && r[4] !== 'NA')).toBe(true);
  });

  it('refuses a chain of no stores', () => {
    expect(() => generateChain(0)).toThrow(/whole number/);
  });

  it('write Kaggle-format CSVs that storecast import recognises', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'storecast-chain-'));
    try {
      const files = await writeChainCsv(dir, 2);
      expect(files.map((f) => f.replace(dir, ''))).toEqual(['/stores.csv', '/features.csv', '/train.csv']);
      const train = readFileSync(files[2]!, 'utf8').trimEnd().split('\n');
      expect(train[0]).toBe('Store,Dept,Date,Weekly_Sales,IsHoliday');
      expect(train.length - 1).toBe(generateChain(2).salesRows);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
