import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { baselinePredictions, scoreMethod } from '../src/forecast/backtest.ts';
import { holidayOf, HOLIDAY_NAMES, holidayWeek } from '../src/data/holidays.ts';
import { buildPanel, gridIndex, type SalesRow } from '../src/forecast/panel.ts';
import { horizonInfos, statForecasts, STAT_MEMBERS } from '../src/forecast/members.ts';
import { rushDepartments, shiftChristmas } from '../src/forecast/christmas.ts';
import { originState } from '../src/forecast/features.ts';

/**
 * Checks against the real Walmart data (../shared/data/walmart); skipped with a message when
 * the folder is absent. No training here: the model's accuracy is `storecast backtest`'s job.
 */
const DIR = '/work/shared/data/walmart';
const present = existsSync(`${DIR}/train.csv`);
if (!present) console.warn(`skipping real-data forecast tests: ${DIR}/train.csv not found`);

function readTrain(): SalesRow[] {
  const lines = readFileSync(`${DIR}/train.csv`, 'utf8').split('\n');
  const rows: SalesRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (!l) continue;
    const [s, d, w, v, h] = l.split(',');
    rows.push({ store: Number(s), dept: Number(d), week: w as string, sales: Number(v), isHoliday: (h as string).startsWith('T') });
  }
  return rows;
}

describe.skipIf(!present)('real Walmart data', () => {
  const rows = present ? readTrain() : [];

  it('flags exactly the holiday weeks the calendar computes (Thanksgiving, Christmas move between years)', () => {
    const flagged = new Set(rows.filter((r) => r.isHoliday).map((r) => r.week));
    const computed = new Set<string>();
    for (const y of [2010, 2011, 2012]) for (const h of HOLIDAY_NAMES) computed.add(holidayWeek(h, y));
    const inRange = [...computed].filter((w) => w >= '2010-02-05' && w <= '2012-10-26').sort();
    expect([...flagged].sort()).toEqual(inRange);
    expect(holidayOf('2010-12-31')).toBe('Christmas');
    expect(holidayOf('2011-12-30')).toBe('Christmas');
  });

  it('SVD-smoothed seasonal naive beats plain seasonal naive at 2012-01-27 (39 weeks), as in the competition', () => {
    const panel = buildPanel(rows);
    const origin = gridIndex(panel, '2012-01-27');
    const b = baselinePredictions(panel, origin, 39);
    const plain = scoreMethod('seasonal-naive', panel, origin, 39, b['seasonal-naive']!);
    const svd = scoreMethod('svd-seasonal-naive', panel, origin, 39, b['svd-seasonal-naive']!);
    expect(plain.rows).toBe(svd.rows);
    expect(plain.rows).toBeGreaterThan(100_000);
    expect(svd.wmae).toBeLessThan(0.9 * plain.wmae);
  }, 60_000);

  it('statistical members beat seasonal naive; the Christmas shift pays through Christmas 2011 (origin 2011-10-28, 39 weeks)', () => {
    const panel = buildPanel(rows);
    const origin = gridIndex(panel, '2011-10-28');
    const ids = panel.series.map((_, i) => i).filter((i) => panel.series[i]!.first <= origin);
    const st = originState(panel, origin, { svdRank: 10 }, ids);
    const members = statForecasts(panel, origin, ids, 39, 10, st);
    const rush = rushDepartments(panel, origin, new Map([...st.deptAgg].map(([d, a]) => [d, a.sum])));
    // Most departments sell more in mid-December than around it, not all of them.
    expect(rush.size).toBeGreaterThan(5);
    expect(rush.size).toBeLessThan(st.deptAgg.size);
    const infos = horizonInfos(panel, origin, 39);
    const sn = scoreMethod('seasonal-naive', panel, origin, 39, baselinePredictions(panel, origin, 39)['seasonal-naive']!).wmae;
    const score = (m: string, shift: boolean) => {
      const preds = new Map(
        [...members.get(m)!].map(([si, v]) => {
          const p = Float64Array.from(v);
          if (shift && rush.has(panel.series[si]!.dept)) shiftChristmas(p, infos);
          return [si, { p50: p, p10: p, p90: p }];
        }),
      );
      return scoreMethod(m, panel, origin, 39, preds).wmae;
    };
    for (const m of STAT_MEMBERS.filter((x) => x !== 'product')) expect(score(m, true)).toBeLessThan(0.9 * sn);
    expect(score('svd-naive', true)).toBeLessThan(0.97 * score('svd-naive', false));
  }, 120_000);
});
