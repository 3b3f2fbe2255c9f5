import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngSize } from '../charts/index.ts';
import { addGrant } from '../src/access/grants.ts';
import { diffInDiff, matchControls, type StoreSeries } from '../src/analytics/did.ts';
import { loadSegments } from '../src/analytics/segments.ts';
import { createToken } from '../src/auth/tokens.ts';
import type { Reply } from '../src/chat/reply.ts';
import { importFile } from '../src/data/import.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { createApp } from '../src/server/app.ts';
import type { Asker, Services } from '../src/services.ts';
import { prng } from '../src/util/random.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { asker, askOk, testServices } from './helpers/services.ts';

/** 16 demo stores: 5 get a synthetic campaign, the other 11 are the control pool. */
const STORES = Array.from({ length: 16 }, (_, i) => i + 1);
const TREATED = [2, 4, 6, 8, 10];
const START = '2012-03-02';
const WEEKS = Array.from({ length: 8 }, (_, i) => addWeeks(START, i));
const LIFT = 0.08;

describe.each(DB_KINDS)('campaigns (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  const ask = (line: string, who: Asker = asker): Promise<Reply> => askOk(services, line, who);

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, STORES);
    // The synthetic campaign, injected after import (the demo generator stays as it is): +8% on
    // 5 stores for 8 weeks, in the department rows and the store-week totals alike.
    for (const table of ['weekly_sales', 'store_week_sales']) {
      await t.db.query(`UPDATE ${table} SET sales = sales * $4 WHERE store_id = ANY($1::int[]) AND week BETWEEN $2::date AND $3::date`, [TREATED, WEEKS[0], WEEKS.at(-1), 1 + LIFT]);
    }
    services = testServices(t.db);
  }, 120_000);
  afterAll(() => t.cleanup());

  it('recovers a synthetic +8% lift on 5 stores for 8 weeks, its interval covering 8%', async () => {
    await ask(`campaign create synthetic stores ${TREATED.join(',')} from ${START} to ${addWeeks(START, 7)} notes injected`);
    const reply = await ask('campaign-impact synthetic');
    const a = reply.data as unknown as { did: { lift: number; lower: number; upper: number; dollars: number; preTrend: { parallel: boolean } }; controls: { store: number }[]; matched: boolean; window: string[] };
    expect(a.window).toEqual(WEEKS);
    expect(a.matched).toBe(true);
    expect(a.controls.length).toBeGreaterThanOrEqual(5);
    for (const c of a.controls) expect(TREATED).not.toContain(c.store);
    expect(a.did.lower).toBeLessThan(LIFT);
    expect(a.did.upper).toBeGreaterThan(LIFT);
    expect(a.did.lower).toBeGreaterThan(0);
    expect(a.did.dollars).toBeGreaterThan(0);
    expect(reply.summary).toMatch(/^Sales rose \+\d/);
    expect(reply.summary).toContain(a.did.preTrend.parallel ? 'Pre-period check passed' : 'Pre-period check failed');
    const png = await services.renderChart(reply.chart!.spec);
    expect(pngSize(png).width).toBeGreaterThanOrEqual(1200);
  });

  it('placebo campaigns on untreated stores: intervals cover zero about 95% of the time (40 runs)', async () => {
    const rows = await t.db.query<{ store_id: number; week: string; sales: number }>('SELECT store_id, week::text AS week, sales FROM store_week_sales');
    const series = new Map<number, Map<string, number>>();
    for (const r of rows) (series.get(r.store_id) ?? series.set(r.store_id, new Map()).get(r.store_id)!).set(r.week, r.sales);
    const weeks = [...new Set(rows.map((r) => r.week))].sort().filter((w) => w < WEEKS[0]!);
    const untreated = STORES.filter((s) => !TREATED.includes(s));
    const segments = new Map((await loadSegments(t.db)).map((s) => [s.store, s.segment]));
    const rand = prng(2012);
    let falsePositives = 0;
    const runs = 40;
    for (let i = 0; i < runs; i++) {
      const at = 26 + Math.floor(rand() * (weeks.length - 26 - 8));
      const pool = [...untreated].sort(() => rand() - 0.5);
      const pre = weeks.slice(at - 26, at);
      const window = weeks.slice(at, at + 8);
      const controls = matchControls(series as StoreSeries, pool.slice(0, 5), pool.slice(5), pre, segments, 6).map((c) => c.store);
      const r = diffInDiff(series, pool.slice(0, 5), controls, { pre, window, seed: i });
      if (r.lower > 0 || r.upper < 0) falsePositives++;
    }
    console.info(`[${kind}] placebo false-positive rate: ${falsePositives}/${runs} = ${((100 * falsePositives) / runs).toFixed(1)}%`);
    expect(falsePositives / runs).toBeLessThanOrEqual(0.125);
  });

  it('/compare with given controls answers the same lift; a window with no effect is not distinguishable from zero', async () => {
    const given = await ask(`compare stores ${TREATED.join(',')} vs 1,3,5,7,9,11 from ${START} to ${addWeeks(START, 7)}`);
    const did = given.data.did as { lift: number; lower: number; upper: number };
    expect(did.lower).toBeLessThan(LIFT);
    expect(did.upper).toBeGreaterThan(LIFT);
    expect(given.facts.find((f) => f.label === 'Controls')!.value).toContain('as given: 1, 3, 5, 7, 9, 11');
    const none = await ask(`compare stores ${TREATED.join(',')} vs 1,3,5,7,9,11 from 2011-06-03 to 2011-07-22`);
    expect(none.summary).toContain('not distinguishable from zero');
  });

  it('/compare speaks of a comparison and its test window, /campaign-impact of the campaign', async () => {
    const compared = await ask(`compare stores ${TREATED.join(',')} vs 1,3,5,7,9,11 from ${START} to ${addWeeks(START, 7)}`);
    const shown = JSON.stringify({ title: compared.title, summary: compared.summary, facts: compared.facts, chart: compared.chart, columns: compared.table!.columns, rows: compared.table!.rows });
    expect(shown).not.toMatch(/campaign/i);
    expect(compared.facts.map((f) => f.label)).toContain('Test window');
    expect(shown).toContain('tested stores vs control stores');
    expect(compared.table!.columns).toEqual(['week', 'phase', 'tested_index', 'control_index']);
    const late = await services.run({ name: 'compare', text: 'stores 1,2 vs 3,4 from 2013-03-01 to 2013-04-26' }, asker);
    expect(late.reply.summary).toContain('The test window starts after the data ends');
    const campaign = await ask('campaign-impact synthetic');
    expect(campaign.facts.map((f) => f.label)).toContain('Campaign weeks');
    expect(JSON.stringify(campaign.chart)).toContain('campaign stores vs control stores');
    expect(campaign.table!.columns).toEqual(['week', 'phase', 'campaign_index', 'control_index']);
  });

  it('/compare matches automatic controls only among stores in no campaign over the window, as /campaign-impact does', async () => {
    // Stores 2-10 (even) run "synthetic" over these weeks, lifted 8%: with them left out, 15 and 16 remain.
    const reply = await ask(`compare stores 1,3,5,7,9,11,12,13,14 from ${START} to ${addWeeks(START, 7)}`);
    const controls = (reply.data.controls as { store: number }[]).map((c) => c.store).sort((a, b) => a - b);
    expect(controls).toEqual([15, 16]);
    expect(reply.facts.find((f) => f.label === 'Controls')!.value).toContain('none in an overlapping campaign');
  });

  it('restricted: compared stores must be visible; automatic controls come only from visible stores, and the answer says so', async () => {
    const restricted = testServices(t.db, { STORECAST_ACCESS: 'restricted' });
    const viewer: Asker = { platform: 'slack', workspace: 'T1', channel: 'C1', user: 'U7', roles: [] };
    const visible = [2, 4, 6, 8, 10, 1, 3, 5, 7, 9];
    for (const store of visible) await addGrant(t.db, { principal: 'slack:T1/U7', role: 'viewer', scope: { kind: 'store', store } });
    const ok = await restricted.run({ name: 'campaign-impact', text: 'synthetic' }, viewer);
    expect(ok.kind).toBe('ok');
    const controls = (ok.reply.data.controls as { store: number }[]).map((c) => c.store);
    for (const c of controls) expect(visible).toContain(c);
    expect(ok.reply.context.notes).toContain('controls drawn only from the stores you may see');
    const hidden = await restricted.run({ name: 'compare', text: 'stores 2,4 vs 12,13 from 2012-03-02 to 2012-04-20' }, viewer);
    expect(hidden.kind).toBe('denied');
    expect(hidden.reply.summary).toContain('12, 13');
    // A campaign on stores the viewer cannot see is neither measured nor named to them.
    await ask('campaign create secret-push stores 12,13 from 2012-03-02 to 2012-04-27');
    for (const text of ['secret-push', 'nope']) {
      const unseen = await restricted.run({ name: 'campaign-impact', text }, viewer);
      expect(unseen.kind).toBe('user-error');
      expect(unseen.reply.summary).toContain(`There is no campaign called ${text}`);
      expect(unseen.reply.summary.replace(`called ${text}`, '')).not.toContain('secret-push');
    }
    await ask('campaign delete secret-push');
    // A viewer may not record campaigns: /campaign is a manage command.
    const create = await restricted.run({ name: 'campaign', text: 'create mine stores 2 from 2012-01-06 to 2012-02-03' }, viewer);
    expect(create.kind).toBe('denied');
  });

  it('a name starting with a digit (as the API and a CSV allow) is created, measured and deleted in chat alike', async () => {
    const created = await ask('campaign create 2011-fall stores 12,14 from 2011-09-02 to 2011-10-28');
    expect(created.data.campaign).toMatchObject({ name: '2011-fall', stores: [12, 14] });
    expect(created.actions[0]!.command).toBe('/campaign-impact name 2011-fall');
    expect((await ask('campaign-impact 2011-fall')).title).toBe('Campaign 2011-fall');
    expect((await ask('campaign delete 2011-Fall')).data.deleted).toBe('2011-fall');
    expect((await ask('campaigns')).data.campaigns as { name: string }[]).not.toContainEqual(expect.objectContaining({ name: '2011-fall' }));
  });

  it('campaigns CSV: recognised by its header, bad rows reported, re-import changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaigns-'));
    const file = join(dir, 'campaigns.csv');
    writeFileSync(
      file,
      'Name,Stores,Start,End,Control_Stores,Notes\n' +
        'summer-flyer,"1,3",2011-06-03,2011-07-29,5 7 9,"flyer, radio"\n' +
        'ghost,"1,99",2011-06-03,2011-07-29,,\n' +
        'backwards,2,2011-07-29,2011-06-03,,\n',
    );
    const first = await importFile(t.db, file);
    expect(first).toMatchObject({ format: 'campaigns', accepted: 1, inserted: 1, rejectedCount: 2 });
    expect(first.rejected.map((r) => r.line)).toEqual([3, 4]);
    expect(first.rejected[0]!.reason).toContain('unknown store 99');
    expect(first.rejected[1]!.reason).toContain('ends (2011-06-03) before it starts');
    const again = await importFile(t.db, file);
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 1 });
    const list = await ask('campaigns');
    const flyer = (list.data.campaigns as { name: string; controls: number[]; notes: string }[]).find((c) => c.name === 'summer-flyer')!;
    expect(flyer).toMatchObject({ controls: [5, 7, 9], notes: 'flyer, radio' });
  });

  it('POST /api/v1/campaigns (admin token) validates like /campaign create; GET lists as the caller', async () => {
    const { app } = createApp(services);
    const { token } = await createToken(t.db, { name: 'marketing', scopes: ['admin'] });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const body = { name: 'api-push', stores: [3, 5], start: '2012-05-04', end: '2012-06-01', controls: '7-9', notes: 'set up over the API' };
    const created = await app.request('/api/v1/campaigns', { method: 'POST', headers, body: JSON.stringify(body) });
    expect(created.status, await created.clone().text()).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'api-push', stores: [3, 5], controls: [7, 8, 9], createdBy: expect.stringMatching(/^token:/) });
    const again = await app.request('/api/v1/campaigns', { method: 'POST', headers, body: JSON.stringify(body) });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain('already a campaign called api-push');
    const bad = await app.request('/api/v1/campaigns', { method: 'POST', headers, body: JSON.stringify({ ...body, name: 'x-ghost', stores: '1,99' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBe('Unknown store: 99.');
    const listed = await app.request('/api/v1/campaigns', { headers });
    expect(((await listed.json()) as { campaigns: { name: string }[] }).campaigns.map((c) => c.name)).toContain('api-push');
  });
});
