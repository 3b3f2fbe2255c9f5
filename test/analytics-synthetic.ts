import { addWeeks } from '../src/data/weeks.ts';
import { prng } from '../src/util/random.ts';
import type { PanelRow } from '../src/analytics/panel.ts';

/**
 * A synthetic store-week panel like the Walmart data (143 Fridays from 2010-02-05, markdowns
 * from November 2011), for the analytics tests and bench/analytics-scale.ts. `ragged`: stores
 * open late or stop early and some weeks miss a driver (null), as in features.csv.
 */
export function syntheticPanel(stores: number, { seed = 1, weeks = 143, ragged = false }: { seed?: number; weeks?: number; ragged?: boolean } = {}): PanelRow[] {
  const random = prng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
  const calendar = Array.from({ length: weeks }, (_, w) => addWeeks('2010-02-05', w));
  const rows: PanelRow[] = [];
  for (let s = 1; s <= stores; s++) {
    const size = 5e5 + 2e6 * random();
    const growth = 0.05 * normal();
    const first = ragged ? Math.floor(random() * 30) : 0;
    const last = ragged ? weeks - Math.floor(random() * 30) : weeks;
    let temperature = 60 + 20 * normal();
    for (let w = first; w < last; w++) {
      const week = calendar[w]!;
      temperature = 0.7 * temperature + 0.3 * (60 + 25 * Math.sin((2 * Math.PI * w) / 52)) + 3 * normal();
      const fuel = 2.8 + w / 100 + 0.1 * normal();
      const cpi = 200 + w / 10 + (s % 7) + 0.2 * normal();
      const unemployment = 8 - w / 80 + (s % 5) / 2 + 0.1 * normal();
      const era = week >= '2011-11-11';
      const markdowns = [0, 1, 2, 3, 4].map((k) => (era && random() > 0.2 ? Math.max(0, 2000 * (k + 1) * (1 + normal())) : 0)) as PanelRow['markdowns'];
      const season = 0.1 * Math.sin((2 * Math.PI * w) / 52) + (week.slice(5, 7) === '12' ? 0.2 : 0);
      const sales = size * (1 + growth * (w / 52) + season + 0.002 * (temperature - 60) + 0.03 * normal()) + 1.5 * markdowns.reduce((a, m) => a + m, 0);
      const miss = (p: number) => ragged && random() < p;
      rows.push({
        store: s,
        week,
        sales,
        isHoliday: ['2010-02-12', '2010-09-10', '2010-11-26', '2010-12-31', '2011-02-11', '2011-09-09', '2011-11-25', '2011-12-30', '2012-02-10', '2012-09-07'].includes(week),
        temperature: miss(0.03) ? null : temperature,
        fuelPrice: fuel,
        cpi: miss(0.05) ? null : cpi,
        unemployment: miss(0.05) ? null : unemployment,
        markdowns,
      });
    }
  }
  return rows;
}
