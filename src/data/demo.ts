import type { Database } from '../db/client.ts';
import { holidayCalendar } from './holidays.ts';
import { importRecords, type ImportReport } from './import.ts';
import { addWeeks } from './weeks.ts';
import { normal, prng } from '../util/random.ts';

/**
 * A deterministic synthetic data set with the real Walmart data's shape: 45 stores of types
 * A/B/C, ~80 departments, 143 Fridays from 2010-02-05, yearly seasonality, store trends,
 * holiday lifts (Thanksgiving and Christmas large, Super Bowl and Labor Day small),
 * markdowns from November 2011, noise, and the odd negative week from returns.
 */
export const DEMO = {
  stores: 45,
  firstWeek: '2010-02-05',
  weeks: 143,
  /** Features continue past the sales, as in features.csv, so forecasts have inputs. */
  featureWeeks: 143 + 39,
  seed: 20100205,
} as const;

const REGIONS = [
  { region: 'Northeast', timezone: 'America/New_York' },
  { region: 'South', timezone: 'America/Chicago' },
  { region: 'Midwest', timezone: 'America/Chicago' },
  { region: 'West', timezone: 'America/Los_Angeles' },
] as const;

interface DemoStore {
  id: number;
  type: 'A' | 'B' | 'C';
  size: number;
  region: string;
  timezone: string;
  level: number;
  trend: number;
  depts: number[];
}

interface DemoDept {
  id: number;
  share: number;
  /** How strongly the department follows the holiday season (toys, electronics: high). */
  seasonal: number;
  summer: number;
  volatility: number;
}

function buildStores(rand: () => number, depts: DemoDept[]): DemoStore[] {
  const stores: DemoStore[] = [];
  for (let id = 1; id <= DEMO.stores; id++) {
    const type = id % 7 === 0 ? 'C' : rand() < 0.5 ? 'A' : 'B';
    const size = Math.round(type === 'A' ? 150_000 + rand() * 70_000 : type === 'B' ? 40_000 + rand() * 100_000 : 35_000 + rand() * 10_000);
    const where = REGIONS[id % REGIONS.length]!;
    const coverage = type === 'A' ? 0.97 : type === 'B' ? 0.88 : 0.72;
    stores.push({
      id,
      type,
      size,
      region: where.region,
      timezone: where.timezone,
      level: size * (6 + rand() * 4),
      trend: -0.03 + rand() * 0.09,
      depts: depts.filter((d) => d.id <= 10 || rand() < coverage).map((d) => d.id),
    });
  }
  return stores;
}

function buildDepts(rand: () => number): DemoDept[] {
  // The real data numbers departments 1..99 with gaps; ~80 of them exist.
  const ids = Array.from({ length: 99 }, (_, i) => i + 1).filter((id) => ![15, 53, 57, 61, 62, 63, 64, 66, 68, 69, 70, 73, 75, 76, 84, 86, 88, 89, 43].includes(id));
  return ids.map((id) => ({
    id,
    share: Math.exp(normal(rand) * 1.1),
    seasonal: [7, 72, 5, 18, 38].includes(id) ? 1.6 + rand() : rand() * 0.6,
    summer: rand() < 0.2 ? 0.25 * rand() : 0,
    volatility: 0.04 + rand() * 0.08,
  }));
}

function holidayLift(name: string | undefined, dept: DemoDept): number {
  switch (name) {
    case 'Thanksgiving':
      return 0.25 + 0.35 * dept.seasonal;
    case 'Christmas':
      // The flagged Christmas week holds few shopping days before Christmas; the weeks
      // before it carry the rush (see seasonality below).
      return -0.05 + 0.1 * dept.seasonal;
    case 'Super Bowl':
      return 0.04;
    case 'Labor Day':
      return 0.03;
    default:
      return 0;
  }
}

/** Multiplier for the weeks leading to Christmas and the slow weeks after it. */
function seasonality(week: string, dept: DemoDept): number {
  const month = Number(week.slice(5, 7));
  const day = Number(week.slice(8, 10));
  const yearFraction = (month - 1 + (day - 1) / 31) / 12;
  let m = 1 + 0.05 * Math.sin(2 * Math.PI * (yearFraction - 0.3)) + dept.summer * Math.sin(Math.PI * Math.min(1, Math.max(0, (yearFraction - 0.35) / 0.35)));
  if (month === 12 && day >= 10 && day <= 24) m *= 1 + (0.25 + 0.6 * dept.seasonal) * (day <= 17 ? 0.6 : 1);
  if (month === 1 && day <= 28) m *= 0.88;
  return m;
}

export interface DemoData {
  stores: string[][];
  features: string[][];
  sales: Iterable<string[][]>;
  regions: { storeId: number; region: string; timezone: string }[];
}

export function generateDemoData(seed: number = DEMO.seed): DemoData {
  const rand = prng(seed);
  const depts = buildDepts(rand);
  const stores = buildStores(rand, depts);
  const holidayByWeek = new Map(holidayCalendar(2010, 2014).map((h) => [h.week, h.name]));
  const weeks = Array.from({ length: DEMO.featureWeeks }, (_, i) => addWeeks(DEMO.firstWeek, i));
  const flag = (w: string) => (holidayByWeek.has(w) ? 'TRUE' : 'FALSE');

  const features: string[][] = [];
  for (const s of stores) {
    let cpi = 126 + rand() * 90;
    let unemployment = 5 + rand() * 5;
    const climate = 40 + rand() * 30;
    weeks.forEach((w, i) => {
      cpi *= 1 + 0.0004 + normal(rand) * 0.0003;
      unemployment = Math.max(3, unemployment - 0.01 + normal(rand) * 0.03);
      const month = Number(w.slice(5, 7));
      const temp = climate + 25 * Math.sin((2 * Math.PI * (month - 4)) / 12) + normal(rand) * 5;
      const markdowns = w >= '2011-11-11' ? [1, 2, 3, 4, 5].map(() => (rand() < 0.8 ? (rand() * 20_000 * (s.size / 150_000)).toFixed(2) : 'NA')) : ['NA', 'NA', 'NA', 'NA', 'NA'];
      features.push([String(s.id), w, temp.toFixed(2), (2.6 + i * 0.008 + normal(rand) * 0.03).toFixed(3), ...markdowns, cpi.toFixed(4), unemployment.toFixed(3), flag(w)]);
    });
  }

  function* sales(): Generator<string[][]> {
    const salesWeeks = weeks.slice(0, DEMO.weeks);
    const totalShare = depts.reduce((a, d) => a + d.share, 0);
    for (const s of stores) {
      const chunk: string[][] = [];
      for (const deptId of s.depts) {
        const d = depts.find((x) => x.id === deptId)!;
        const base = (s.level * d.share) / totalShare;
        let ar = 0;
        salesWeeks.forEach((w, i) => {
          ar = 0.6 * ar + normal(rand) * d.volatility;
          const growth = 1 + s.trend * (i / 52);
          const lift = 1 + holidayLift(holidayByWeek.get(w), d);
          let value = base * growth * seasonality(w, d) * lift * Math.exp(ar);
          // Small departments sometimes book more returns than sales in a week.
          if (base < 800 && rand() < 0.03) value = -rand() * 300;
          chunk.push([String(s.id), String(deptId), w, value.toFixed(2), flag(w)]);
        });
      }
      yield chunk;
    }
  }

  return {
    stores: stores.map((s) => [String(s.id), s.type, String(s.size)]),
    features,
    sales: sales(),
    regions: stores.map((s) => ({ storeId: s.id, region: s.region, timezone: s.timezone })),
  };
}

/** Loads the demo data set through the same validation and upserts as a CSV import. */
export async function loadDemoData(db: Database, seed: number = DEMO.seed): Promise<ImportReport[]> {
  const demo = generateDemoData(seed);
  const reports = [await importRecords(db, 'stores', 'demo:stores', [demo.stores])];
  for (const r of demo.regions) {
    await db.query('UPDATE stores SET region = $2, timezone = $3 WHERE store_id = $1', [r.storeId, r.region, r.timezone]);
  }
  reports.push(await importRecords(db, 'features', 'demo:features', [demo.features]));
  reports.push(await importRecords(db, 'train', 'demo:sales', demo.sales));
  return reports;
}
