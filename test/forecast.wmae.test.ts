import { beforeAll, describe, expect, it } from 'vitest';
import { scoreMethod } from '../src/forecast/backtest.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { HOLIDAY_NAMES, holidayWeek } from '../src/data/holidays.ts';
import type { Hyperparameters } from '../src/forecast/model.ts';
import { buildPanel, type SalesRow } from '../src/forecast/panel.ts';
import { ensureBackend } from '../src/forecast/tf.ts';
import { trainModel } from '../src/forecast/ensemble.ts';
import { Wmae } from '../src/forecast/wmae.ts';
import { prng } from '../src/util/random.ts';

/**
 * Issue #9, item 15: holiday weeks weigh `holidayWeight` in the metric as in the loss, in
 * early stopping (train.ts) and in backtest scores (backtest.ts); the weight was 5 in both.
 */

/** A few stores x depts with holiday peaks the statistical base cannot know exactly (noise). */
function rows(weeks = 100): SalesRow[] {
  const rand = prng(5);
  const out: SalesRow[] = [];
  for (let store = 1; store <= 3; store++) {
    for (let dept = 1; dept <= 2; dept++) {
      for (let i = 0; i < weeks; i++) {
        const week = addWeeks('2010-02-05', i);
        const y = Number(week.slice(0, 4));
        const isHoliday = HOLIDAY_NAMES.some((h) => holidayWeek(h, y) === week);
        const level = 1000 * store + 300 * dept;
        out.push({ store, dept, week, sales: level * (isHoliday ? 1.5 + rand() : 1 + 0.1 * rand()), isHoliday });
      }
    }
  }
  return out;
}

describe('WMAE', () => {
  it('weighs holiday rows by the given weight', () => {
    const of = (w: number) => {
      const m = new Wmae(w);
      m.add(10, false);
      m.add(100, true);
      m.add(10, false);
      return m.value();
    };
    expect(of(1)).toBeCloseTo(40, 9); // (10 + 100 + 10) / 3
    expect(of(5)).toBeCloseTo(520 / 7, 9);
    expect(new Wmae(5).value()).toBeNaN();
  });

  it('backtest scores use holidayWeight (default 5), for rows and store totals', () => {
    // March: no calendar holiday; the third week is flagged in the data.
    const weeks = ['2010-03-05', '2010-03-12', '2010-03-19', '2010-03-26'];
    const sales = [0, 10, 100, 10];
    const panel = buildPanel(weeks.map((week, i) => ({ store: 1, dept: 1, week, sales: sales[i]!, isHoliday: week === '2010-03-19' })));
    const zero = new Map([[0, { p50: [0, 0, 0], p10: [0, 0, 0], p90: [0, 0, 0] }]]);
    const one = scoreMethod('zero', panel, 0, 3, zero, 1);
    const five = scoreMethod('zero', panel, 0, 3, zero, 5);
    expect(one.wmae).toBeCloseTo(40, 9);
    expect(five.wmae).toBeCloseTo(520 / 7, 9);
    expect(five.storeWmae).toBeCloseTo(520 / 7, 9);
    expect(scoreMethod('zero', panel, 0, 3, zero).wmae).toBe(five.wmae);
    expect(one.mae).toBe(five.mae);
  });

  describe('in training (the early-stopping metric)', () => {
    beforeAll(async () => {
      await ensureBackend('auto');
    });

    // No epochs: the metrics of the statistical base, so only the metric's weight differs.
    const hyper = (holidayWeight: number): Partial<Hyperparameters> => ({ hidden: [8], epochs: 0, valWeeks: 20, originStep: 6, svdRank: 2, holidayWeight });

    it('validation WMAE follows holidayWeight', async () => {
      const panel = buildPanel(rows());
      const metrics = async (w: number) => {
        const m = await trainModel(panel, { hyper: hyper(w) });
        m.network.dispose();
        return m.metrics;
      };
      const [w1, w5, w20] = [await metrics(1), await metrics(5), await metrics(20)];
      expect(w5.valRows).toBe(w1.valRows);
      // Holiday weeks are the hard ones here: the more they weigh, the larger the error.
      expect(w1.valBaseWmae).toBeLessThan(w5.valBaseWmae);
      expect(w5.valBaseWmae).toBeLessThan(w20.valBaseWmae);
      expect(w1.valWmae).toBeLessThan(w20.valWmae);
    }, 60_000);
  });
});
