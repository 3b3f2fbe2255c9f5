import { createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Database } from '../db/client.ts';
import { holidayCalendar } from './holidays.ts';
import { importRecords, type ImportOptions, type ImportReport } from './import.ts';
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

/** One store's attributes from `rand`: type, size, region, sales level, trend, departments. */
function buildStore(id: number, rand: () => number, depts: readonly DemoDept[]): DemoStore {
  const type = id % 7 === 0 ? 'C' : rand() < 0.5 ? 'A' : 'B';
  const size = Math.round(type === 'A' ? 150_000 + rand() * 70_000 : type === 'B' ? 40_000 + rand() * 100_000 : 35_000 + rand() * 10_000);
  const where = REGIONS[id % REGIONS.length]!;
  const coverage = type === 'A' ? 0.97 : type === 'B' ? 0.88 : 0.72;
  return {
    id,
    type,
    size,
    region: where.region,
    timezone: where.timezone,
    level: size * (6 + rand() * 4),
    trend: -0.03 + rand() * 0.09,
    depts: depts.filter((d) => d.id <= 10 || rand() < coverage).map((d) => d.id),
  };
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

/** A generated chain of any size, streamed: one chunk of features and of sales per store. */
export interface ChainData {
  stores: string[][];
  regions: { storeId: number; region: string; timezone: string }[];
  features: Iterable<string[][]>;
  sales: Iterable<string[][]>;
  /** Department rows the sales stream yields (known before generating them). */
  salesRows: number;
}

/** What the feature and sales rows of every store share: the calendar and the departments. */
interface Calendar {
  weeks: string[];
  flags: string[];
  holidayNames: (string | undefined)[];
  depts: Map<number, DemoDept>;
  totalShare: number;
}

function calendarOf(depts: readonly DemoDept[]): Calendar {
  const holidayByWeek = new Map(holidayCalendar(2010, 2014).map((h) => [h.week, h.name]));
  const weeks = Array.from({ length: DEMO.featureWeeks }, (_, i) => addWeeks(DEMO.firstWeek, i));
  return {
    weeks,
    flags: weeks.map((w) => (holidayByWeek.has(w) ? 'TRUE' : 'FALSE')),
    holidayNames: weeks.map((w) => holidayByWeek.get(w)),
    depts: new Map(depts.map((d) => [d.id, d])),
    totalShare: depts.reduce((a, d) => a + d.share, 0),
  };
}

/** features.csv rows of one store: weather, fuel, CPI and unemployment drift, markdowns from 2011-11-11. */
function featureRows(s: DemoStore, rand: () => number, cal: Calendar): string[][] {
  const rows: string[][] = [];
  let cpi = 126 + rand() * 90;
  let unemployment = 5 + rand() * 5;
  const climate = 40 + rand() * 30;
  cal.weeks.forEach((w, i) => {
    cpi *= 1 + 0.0004 + normal(rand) * 0.0003;
    unemployment = Math.max(3, unemployment - 0.01 + normal(rand) * 0.03);
    const month = Number(w.slice(5, 7));
    const temp = climate + 25 * Math.sin((2 * Math.PI * (month - 4)) / 12) + normal(rand) * 5;
    const markdowns = w >= '2011-11-11' ? [1, 2, 3, 4, 5].map(() => (rand() < 0.8 ? (rand() * 20_000 * (s.size / 150_000)).toFixed(2) : 'NA')) : ['NA', 'NA', 'NA', 'NA', 'NA'];
    rows.push([String(s.id), w, temp.toFixed(2), (2.6 + i * 0.008 + normal(rand) * 0.03).toFixed(3), ...markdowns, cpi.toFixed(4), unemployment.toFixed(3), cal.flags[i]!]);
  });
  return rows;
}

/** train.csv rows of one store: every department's 143 weeks. */
function salesRows(s: DemoStore, rand: () => number, cal: Calendar): string[][] {
  const rows: string[][] = [];
  const id = String(s.id);
  for (const deptId of s.depts) {
    const d = cal.depts.get(deptId)!;
    const dept = String(deptId);
    const base = (s.level * d.share) / cal.totalShare;
    let ar = 0;
    for (let i = 0; i < DEMO.weeks; i++) {
      const w = cal.weeks[i]!;
      ar = 0.6 * ar + normal(rand) * d.volatility;
      const growth = 1 + s.trend * (i / 52);
      const lift = 1 + holidayLift(cal.holidayNames[i], d);
      let value = base * growth * seasonality(w, d) * lift * Math.exp(ar);
      // Small departments sometimes book more returns than sales in a week.
      if (base < 800 && rand() < 0.03) value = -rand() * 300;
      rows.push([id, dept, w, value.toFixed(2), cal.flags[i]!]);
    }
  }
  return rows;
}

/** The 45 demo stores, their features and sales: one random stream, in this order. */
function classicDemo(seed: number) {
  const rand = prng(seed);
  const depts = buildDepts(rand);
  const cal = calendarOf(depts);
  const stores = Array.from({ length: DEMO.stores }, (_, i) => buildStore(i + 1, rand, depts));
  const features = stores.flatMap((s) => featureRows(s, rand, cal));
  // Lazy, but still on the one stream: consumed after the features, as it always was.
  function* sales(): Generator<string[][]> {
    for (const s of stores) yield salesRows(s, rand, cal);
  }
  return { depts, cal, stores, features, sales: sales() };
}

const storeRecord = (s: DemoStore) => [String(s.id), s.type, String(s.size)];
const regionOf = (s: DemoStore) => ({ storeId: s.id, region: s.region, timezone: s.timezone });

export function generateDemoData(seed: number = DEMO.seed): DemoData {
  const demo = classicDemo(seed);
  return { stores: demo.stores.map(storeRecord), features: demo.features, sales: demo.sales, regions: demo.stores.map(regionOf) };
}

/** A seed of its own for one store and stream, so store 4,000 needs no draws of stores 46..3,999. */
function streamSeed(seed: number, store: number, stream: number): number {
  let h = (seed ^ Math.imul(store, 0x9e3779b1) ^ Math.imul(stream, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A chain of `count` stores (1..count): stores 1-45 are exactly the demo's; each further store
 * draws from random streams of its own (attributes, features, sales), with the same types,
 * sizes, regions, departments, holidays, trends, markdowns and noise. Deterministic, a prefix
 * of any larger chain, and streamed: at most one store's rows are generated ahead.
 */
export function generateChain(count: number, seed: number = DEMO.seed): ChainData {
  if (!Number.isInteger(count) || count < 1) throw new Error(`stores must be a whole number >= 1, got ${count}`);
  const demo = classicDemo(seed);
  const stores = demo.stores.slice(0, count);
  for (let id = DEMO.stores + 1; id <= count; id++) stores.push(buildStore(id, prng(streamSeed(seed, id, 1)), demo.depts));
  const cal = demo.cal;
  function* features(): Generator<string[][]> {
    const classic = new Set(stores.slice(0, DEMO.stores).map((s) => String(s.id)));
    yield demo.features.filter((r) => classic.has(r[0]!));
    for (const s of stores.slice(DEMO.stores)) yield featureRows(s, prng(streamSeed(seed, s.id, 2)), cal);
  }
  function* sales(): Generator<string[][]> {
    // The demo's stores share one stream: all 45 are drawn, the first `count` kept.
    for (const chunk of demo.sales) if (Number(chunk[0]?.[0]) <= count) yield chunk;
    for (const s of stores.slice(DEMO.stores)) yield salesRows(s, prng(streamSeed(seed, s.id, 3)), cal);
  }
  return {
    stores: stores.map(storeRecord),
    regions: stores.map(regionOf),
    features: features(),
    sales: sales(),
    salesRows: stores.reduce((a, s) => a + s.depts.length * DEMO.weeks, 0),
  };
}

/** Sets the generated stores' regions and time zones: one statement, however many stores. */
export async function setRegions(db: Database, regions: ChainData['regions']): Promise<void> {
  await db.query(
    `UPDATE stores s SET region = r.region, timezone = r.timezone
     FROM unnest($1::int[], $2::text[], $3::text[]) AS r(store_id, region, timezone)
     WHERE s.store_id = r.store_id AND (s.region, s.timezone) IS DISTINCT FROM (r.region, r.timezone)`,
    [regions.map((r) => r.storeId), regions.map((r) => r.region), regions.map((r) => r.timezone)],
  );
}

/**
 * Loads the demo data set (or a generated chain of `stores` stores) through the same
 * validation and upserts as a CSV import, streamed: memory stays flat at 4,600 stores.
 */
export async function loadDemoData(db: Database, seed: number = DEMO.seed, options: { stores?: number } & ImportOptions = {}): Promise<ImportReport[]> {
  const { stores: count = DEMO.stores, ...importOptions } = options;
  const chain = generateChain(count, seed);
  const reports = [await importRecords(db, 'stores', 'demo:stores', [chain.stores], importOptions)];
  await setRegions(db, chain.regions);
  reports.push(await importRecords(db, 'features', 'demo:features', chain.features, importOptions));
  reports.push(await importRecords(db, 'train', 'demo:sales', chain.sales, importOptions));
  return reports;
}

const CSV_HEADERS = {
  stores: 'Store,Type,Size',
  features: 'Store,Date,Temperature,Fuel_Price,MarkDown1,MarkDown2,MarkDown3,MarkDown4,MarkDown5,CPI,Unemployment,IsHoliday',
  train: 'Store,Dept,Date,Weekly_Sales,IsHoliday',
} as const;

/**
 * Writes a generated chain as Kaggle stores.csv, features.csv and train.csv in `dir`, for
 * `storecast import` (the path users take with real files). Streams, honouring backpressure.
 */
export async function writeChainCsv(dir: string, count: number, seed: number = DEMO.seed): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const chain = generateChain(count, seed);
  const files: string[] = [];
  for (const [name, chunks] of [['stores', [chain.stores]], ['features', chain.features], ['train', chain.sales]] as const) {
    const path = join(dir, `${name}.csv`);
    const out = createWriteStream(path);
    const write = (text: string) => (out.write(text) ? Promise.resolve() : once(out, 'drain').then(() => undefined));
    await write(`${CSV_HEADERS[name]}\n`);
    for (const chunk of chunks) await write(chunk.map((r) => r.join(',')).join('\n') + '\n');
    out.end();
    await finished(out);
    files.push(path);
  }
  return files;
}
