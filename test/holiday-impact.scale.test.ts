import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOTSTRAP_MAX_UNITS, holidayImpact } from '../src/analytics/holiday-impact.ts';
import { normal, prng, quantileSorted } from '../src/util/random.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';

// More stores than the bootstrap resamples: the chain's interval comes from sums in SQL.
const STORES = BOOTSTRAP_MAX_UNITS + 200;

describe.each(DB_KINDS)('holiday impact of a chain past %s bootstrap size', (kind) => {
  let t: TestDatabase;
  const observations: { h: number; b: number }[] = [];
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    const rand = prng(7);
    for (let s = 1; s <= STORES; s++) {
      const b = 50_000 + 150_000 * rand();
      observations.push({ h: b * (1.3 + 0.2 * normal(rand)), b });
    }
    await t.db.query(
      `INSERT INTO store_holiday_weeks (store_id, week, holiday_sales, baseline_sales, baseline_weeks)
       SELECT store_id, '2010-11-26', h, b, 6 FROM unnest($1::int[], $2::float8[], $3::float8[]) AS x(store_id, h, b)`,
      [observations.map((_, i) => i + 1), observations.map((o) => o.h), observations.map((o) => o.b)],
    );
  });
  afterAll(() => t.cleanup());

  it('gives the pooled lift and an interval that matches a bootstrap of the stores', async () => {
    const [lift] = await holidayImpact(t.db, { kind: 'chain' });
    const h = observations.reduce((a, o) => a + o.h, 0);
    const b = observations.reduce((a, o) => a + o.b, 0);
    expect(lift).toMatchObject({ holiday: 'Thanksgiving', year: 2010, week: '2010-11-26', units: STORES });
    expect(lift!.lift).toBeCloseTo(h / b - 1, 9);
    // The bootstrap it stands for, computed here the long way.
    const rand = prng(11);
    const draws: number[] = [];
    for (let i = 0; i < 2000; i++) {
      let sh = 0;
      let sb = 0;
      for (let j = 0; j < observations.length; j++) {
        const o = observations[Math.floor(rand() * observations.length)]!;
        sh += o.h;
        sb += o.b;
      }
      draws.push(sh / sb - 1);
    }
    draws.sort((x, y) => x - y);
    const width = quantileSorted(draws, 0.975) - quantileSorted(draws, 0.025);
    expect(Math.abs(lift!.lower - quantileSorted(draws, 0.025))).toBeLessThan(0.1 * width);
    expect(Math.abs(lift!.upper - quantileSorted(draws, 0.975))).toBeLessThan(0.1 * width);
  });
});
