import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngSize } from '../charts/index.ts';
import { splitCommandLine } from '../src/chat/dispatch.ts';
import { commandLine, parseText } from '../src/chat/parse.ts';
import type { Reply } from '../src/chat/reply.ts';
import { loadDemoData } from '../src/data/demo.ts';
import type { Asker, Services } from '../src/services.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { asker, testServices } from './helpers/services.ts';

describe.each(DB_KINDS)('commands on demo data (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  const ask = async (name: string, text: string) => {
    const outcome = await services.run({ name, text }, asker);
    if (outcome.kind !== 'ok') throw new Error(`${name} ${text}: ${outcome.reply.summary}`);
    return outcome.reply;
  };

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await loadDemoData(t.db);
    services = testServices(t.db);
  });
  afterAll(() => t.cleanup());

  it('/forecast store 5 week 12: 12 weeks after the data, each inside its interval, with a chart', async () => {
    const reply = await ask('forecast', 'store 5 week 12');
    const forecast = reply.data.forecast as { week: string; value: number; lower: number; upper: number }[];
    expect(forecast).toHaveLength(12);
    expect(forecast[0]!.week).toBe('2012-11-02');
    expect(forecast[11]!.week).toBe('2013-01-18');
    for (const p of forecast) {
      expect(p.lower).toBeLessThanOrEqual(p.value);
      expect(p.value).toBeLessThanOrEqual(p.upper);
      expect(p.value).toBeGreaterThan(0);
    }
    expect(reply.context).toMatchObject({ dataThrough: '2012-10-26', model: 'seasonal-naive' });
    expect(reply.facts.map((f) => f.label)).toEqual(['Next week', 'Next 12 weeks', 'Last actual week', 'Holidays ahead']);
    expect(reply.actions[0]).toEqual({ label: '+4 weeks', command: '/forecast store 5 horizon 16' });
    const png = await services.renderChart(reply.chart!.spec);
    expect(pngSize(png).width).toBeGreaterThanOrEqual(1200);
  });

  it('/forecast for a department and the default horizon', async () => {
    const reply = await ask('forecast', 'store 5 dept 7');
    expect(reply.data.forecast).toHaveLength(8);
    expect(reply.title).toBe('Store 5 · Dept 7: 8-week forecast');
  });

  it('/holiday-impact: Thanksgiving lifts more than Labor Day, intervals contain the lift', async () => {
    const reply = await ask('holiday-impact', 'store 5');
    const lifts = reply.data.lifts as { holiday: string; year: number; lift: number; lower: number; upper: number }[];
    expect(new Set(lifts.map((l) => l.holiday))).toEqual(new Set(['Super Bowl', 'Labor Day', 'Thanksgiving', 'Christmas']));
    for (const l of lifts) expect(l.lower <= l.lift && l.lift <= l.upper).toBe(true);
    const mean = (h: string) => lifts.filter((l) => l.holiday === h).reduce((a, l) => a + l.lift, 0) / lifts.filter((l) => l.holiday === h).length;
    expect(mean('Thanksgiving')).toBeGreaterThan(0.2);
    expect(mean('Thanksgiving')).toBeGreaterThan(mean('Labor Day'));
    const png = await services.renderChart(reply.chart!.spec);
    expect(pngSize(png).width).toBeGreaterThanOrEqual(1200);
  });

  it('/holiday-impact by region and for one holiday', async () => {
    const reply = await ask('holiday-impact', 'region south holiday thanksgiving');
    const lifts = reply.data.lifts as { holiday: string; units: number }[];
    expect(lifts.every((l) => l.holiday === 'Thanksgiving')).toBe(true);
    const [south] = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM stores WHERE region = 'South'");
    expect(lifts[0]!.units).toBe(south!.n);
  });

  it('/sales: the window sums the weeks it shows and compares with last year', async () => {
    const reply = await ask('sales', 'store 5 from 2012-01-06 to 2012-03-30');
    const series = reply.data.series as { week: string; sales: number; lastYear: number | null }[];
    expect(series[0]!.week).toBe('2012-01-06');
    expect(series.at(-1)!.week).toBe('2012-03-30');
    expect(series).toHaveLength(13);
    const [db] = await t.db.query<{ total: number }>(
      "SELECT sum(sales)::float8 AS total FROM weekly_sales WHERE store_id = 5 AND week BETWEEN '2012-01-06' AND '2012-03-30'",
    );
    expect(reply.data.total).toBeCloseTo(db!.total, 0);
    expect(series.every((p) => p.lastYear !== null)).toBe(true);
  });

  it('/top stores by growth: ordered, limited, and matching a direct computation', async () => {
    const reply = await ask('top', 'stores by growth 5');
    const rows = reply.data.rows as { id: number; growth: number }[];
    expect(rows).toHaveLength(5);
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1]!.growth).toBeGreaterThanOrEqual(rows[i]!.growth);
    const [best] = await t.db.query<{ id: number }>(
      `SELECT store_id AS id FROM store_week_sales GROUP BY store_id
       ORDER BY sum(sales) FILTER (WHERE week > '2011-10-28') / sum(sales) FILTER (WHERE week BETWEEN '2010-11-05' AND '2011-10-28') DESC LIMIT 1`,
    );
    expect(rows[0]!.id).toBe(best!.id);
    expect(reply.table!.rows).toHaveLength(5);
  });

  it('/top depts by sales bottom 3', async () => {
    const reply = await ask('top', 'depts by sales bottom 3');
    const rows = reply.data.rows as { sales: number }[];
    expect(rows).toHaveLength(3);
    expect(rows[0]!.sales).toBeLessThanOrEqual(rows[2]!.sales);
  });

  it('/help lists every command and /help forecast shows its options', async () => {
    const all = await ask('help', '');
    const labels = all.facts.map((f) => f.label);
    expect(labels).toEqual([...services.registry.keys()].map((n) => `/${n}`));
    expect(labels.slice(0, 4)).toEqual(['/forecast', '/holiday-impact', '/sales', '/top']);
    expect(labels.at(-1)).toBe('/help');
    const one = await ask('help', 'command forecast');
    expect(one.facts.map((f) => f.label)).toEqual(['Usage', 'store', 'dept', 'horizon', 'Examples']);
  });

  it('every follow-up of every example (and of its follow-ups) reads back to the same options', async () => {
    // A channel asker, so /subscribe and /unsubscribe answer (and offer their follow-ups) too.
    const inChannel: Asker = { platform: 'slack', workspace: 'T1', channel: 'C-follow-ups', user: 'U1', roles: [] };
    const replies = new Map<string, Reply>();
    const answer = async (line: string) => {
      if (!replies.has(line)) replies.set(line, (await services.run(splitCommandLine(line), inChannel)).reply);
      return replies.get(line)!;
    };
    const examples = [...services.registry.values()].flatMap((c) => c.examples);
    const followUps = new Set<string>();
    for (const line of examples) for (const action of (await answer(line)).actions) followUps.add(action.command);
    for (const line of [...followUps]) for (const action of (await answer(line)).actions) followUps.add(action.command);
    const fromHelp = new Set([...services.registry.values()].flatMap((c) => c.examples));

    expect(followUps.size).toBeGreaterThan(10);
    for (const line of followUps) {
      const { name, text } = splitCommandLine(line);
      const command = services.registry.get(name);
      expect(command, line).toBeDefined();
      const options = parseText(command!, text ?? '');
      expect(parseText(command!, splitCommandLine(commandLine(command!, options)).text ?? ''), line).toEqual(options);
      // Built with commandLine, not by hand: already in its canonical form. (/help offers the examples as written.)
      if (!fromHelp.has(line)) expect(commandLine(command!, options)).toBe(line);
    }
  });
});
