import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../commands/index.ts';
import { addGrant } from '../src/access/grants.ts';
import { ask, type AskOutcome } from '../src/chat/plain/ask.ts';
import { numbersInWords } from '../src/chat/plain/numbers.ts';
import { readWhen } from '../src/chat/plain/dates.ts';
import { normalise, type Vocabulary } from '../src/chat/plain/read.ts';
import { UserError } from '../src/chat/errors.ts';
import { parseText } from '../src/chat/parse.ts';
import { understand, type Understanding } from '../src/chat/plain/understand.ts';
import { forgetVocabulary } from '../src/chat/plain/vocabulary.ts';
import { createApp } from '../src/server/app.ts';
import type { Scope } from '../src/scope.ts';
import type { Services } from '../src/services.ts';
import { runStorecast } from './helpers/cli.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

interface Case {
  q: string;
  line?: string;
  command?: string | null;
  missing?: string[];
}
const load = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as { vocabulary: Vocabulary; questions: Case[] };
const fixture = load('plain-questions.json');
const holdout = load('plain-questions-holdout.json');
const registry = createRegistry();
const where = { platform: 'cli' as const };

/** The command a question was read as (null: none), and its line when it has one. */
function readOf(u: Understanding): { command: string | null; line?: string } {
  if (u.kind === 'command') return { command: u.input.name };
  if (u.kind === 'read') return { command: u.reading.command, line: u.reading.line };
  if (u.kind === 'incomplete') return { command: u.reading.command };
  return { command: null };
}

function score(set: { vocabulary: Vocabulary; questions: Case[] }) {
  let commands = 0;
  let lines = 0;
  const misses: string[] = [];
  for (const t of set.questions) {
    const got = readOf(understand(t.q, registry, set.vocabulary, where));
    const expected = t.line ? t.line.split(' ')[0]!.slice(1) : (t.command ?? null);
    if (got.command === expected) commands++;
    else misses.push(`${t.q} -> ${got.command}`);
    if (!t.line || got.line === undefined || got.line === t.line) lines++;
  }
  return { commands: commands / set.questions.length, lines: lines / set.questions.length, misses };
}

describe('plain questions: the phrasing fixture', () => {
  it('has at least 200 phrasings, each with its expected command', () => {
    expect(fixture.questions.length).toBeGreaterThanOrEqual(200);
    for (const t of fixture.questions) expect(t.line !== undefined || t.command !== undefined, t.q).toBe(true);
    expect(new Set(fixture.questions.map((t) => t.q)).size).toBe(fixture.questions.length);
  });

  it('maps at least 95% to the expected command, and 90% to the expected command line', () => {
    const s = score(fixture);
    expect(s.misses).toEqual(s.commands >= 0.95 ? s.misses : []);
    expect(s.commands).toBeGreaterThanOrEqual(0.95);
    expect(s.lines).toBeGreaterThanOrEqual(0.9);
  });

  it('maps at least 90% of a second set of phrasings (written apart from the first, in three rounds)', () => {
    expect(score(holdout).commands).toBeGreaterThanOrEqual(0.9);
  });
});

describe('plain questions: reading', () => {
  const v = fixture.vocabulary;
  it('reads numbers in words', () => {
    expect(numbersInWords('store twenty five for twelve weeks'.split(' '))).toEqual(['store', '25', 'for', '12', 'weeks']);
    expect(numbersInWords('one hundred and four'.split(' '))).toEqual(['104']);
    expect(numbersInWords('a dozen weeks'.split(' '))).toEqual(['12', 'weeks']);
    expect(normalise('Store #5, dept. seven?')).toBe('store 5 dept 7');
  });

  it('counts relative dates from the last week of data, not from today', () => {
    expect(readWhen('last week', '2012-10-26')).toMatchObject({ from: '2012-10-26' });
    expect(readWhen('last month', '2012-10-26')).toMatchObject({ from: '2012-09-01', to: '2012-09-30' });
    expect(readWhen('next quarter', '2012-10-26')).toMatchObject({ aheadWeeks: 13 });
    expect(readWhen('since march', '2012-10-26')).toMatchObject({ from: '2012-03-01' });
    expect(readWhen('vs last year', '2012-10-26').from).toBeUndefined();
  });

  it('says how a question was read, offers two close readings instead of guessing, and refuses what it cannot read', () => {
    const read = understand('how did store 5 do last week?', registry, v, where);
    expect(read).toMatchObject({ kind: 'read', reading: { line: '/sales store 5 from 2012-10-26' }, input: { name: 'sales', options: { store: 5, from: '2012-10-26' } } });
    const unsure = understand('store 5 sales next weeks', registry, v, where);
    expect(unsure.kind).toBe('unsure');
    if (unsure.kind === 'unsure') expect(new Set(unsure.readings.map((r) => r.command)).size).toBe(2);
    expect(understand('tell me a joke', registry, v, where).kind).toBe('none');
    // A pasted page is not a question, and is not read word by word either.
    expect(understand(`how did store 5 do ${'how did '.repeat(1000)}`, registry, v, where).kind).toBe('none');
    expect(understand('which stores are low on stock in the West', registry, v, where)).toMatchObject({ kind: 'incomplete', reading: { command: 'stock', missing: ['store'] } });
  });

  it('reads department names when the departments table has them', () => {
    const named = { ...v, departments: [{ id: 92, name: 'Grocery' }] };
    expect(understand('how did grocery do at store 5 last month', registry, named, where)).toMatchObject({ kind: 'read', reading: { line: '/sales store 5 dept 92 from 2012-09-01 to 2012-09-30' } });
  });

  it('takes region names as they are stored, whatever characters they hold', () => {
    const odd = { ...v, regions: ['North (East)', 'Gulf Coast', 'West'] };
    expect(() => understand('holiday lift in the north (east)', registry, odd, where)).not.toThrow();
    expect(understand('how do holidays affect the gulf coast stores', registry, odd, where)).toMatchObject({ kind: 'read', reading: { line: '/holiday-impact region Gulf Coast' } });
  });

  it('reads the names of Object.prototype\'s members as plain words', () => {
    for (const q of ['__proto__', 'constructor', 'a constructor', 'the __proto__ of store 5', 'store constructor', 'hasOwnProperty week 12']) {
      expect(() => understand(q, registry, v, where), q).not.toThrow();
    }
    expect(understand('sales at store 5 constructor', registry, v, where)).toMatchObject({ kind: 'read', reading: { command: 'sales' } });
  });

  it('never throws on any text, and every line it reads is one the command parser takes or refuses as a user error', () => {
    const words = ['store', 'dept', 'how', 'did', 'do', 'last', 'next', 'week', 'weeks', 'forecast', 'top', 'worst', 'west', 'christmas', 'spring-push', 'five', 'twelve', '5', '99999', '100000', 'since', 'march', '2011', 'stock', 'campaign', '#', '?', 'vs', 'year', '__proto__', 'constructor', 'a'];
    const question = fc.oneof(fc.string({ maxLength: 80 }), fc.array(fc.constantFrom(...words), { maxLength: 12 }).map((w) => w.join(' ')));
    fc.assert(
      fc.property(question, (q) => {
        const u = understand(q, registry, v, where);
        const lines = u.kind === 'read' ? [u.reading] : u.kind === 'unsure' ? u.readings : [];
        for (const r of lines) {
          try {
            parseText(registry.get(r.command)!, r.line.slice(r.command.length + 2));
          } catch (err) {
            if (!(err instanceof UserError)) throw err;
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('leaves command lines as typed, and never reads a question as a command that changes things', () => {
    expect(understand('/forecast store 5 week 12', registry, v, where)).toEqual({ kind: 'command', input: { name: 'forecast', text: 'store 5 week 12' } });
    expect(understand('top stores by growth 3', registry, v, where).kind).toBe('command');
    for (const q of ['grant bob access to store 5', 'delete the spring-push campaign please', 'subscribe me to store 5 every monday', 'alert me when store 5 is low on stock']) {
      const u = understand(q, registry, v, where);
      const name = u.kind === 'read' ? u.reading.command : u.kind === 'unsure' ? u.readings.map((r) => r.command).join() : '';
      expect(name, q).not.toMatch(/access|campaign$|subscribe|unsubscribe|alert$/);
    }
  });
});

/** The stores a run's answer is about (undefined: it names no sales data). */
function storesOf(reach: Scope | undefined): number[] | 'chain' | undefined {
  if (!reach) return undefined;
  if (reach.kind === 'store' || reach.kind === 'store-dept') return [reach.store];
  if (reach.kind === 'stores') return [...reach.stores];
  return 'chain';
}

describe.each(DB_KINDS)('plain questions through dispatch on %s', (kind) => {
  let t: TestDatabase;
  let services: Services;
  const viewer = { platform: 'slack' as const, workspace: 'T1', user: 'U5', channel: undefined, roles: [] };

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [5, 7]);
    await t.db.exec(`UPDATE stores SET region = 'West'`);
    await t.db.exec(`INSERT INTO campaigns (name, stores, start_date, end_date) VALUES ('spring-push', '{7}', '2012-03-02', '2012-04-27')`);
    services = testServices(t.db, { STORECAST_ACCESS: 'restricted' });
    await addGrant(t.db, { principal: 'slack:T1/U5', role: 'viewer', scope: { kind: 'store', store: 5 } });
  }, 120_000);
  afterAll(() => t?.cleanup());

  it('never answers about a store the asker may not see: a reading that names one is refused as a typed command is', async () => {
    const outcomes: [Case, AskOutcome][] = [];
    for (const c of fixture.questions) outcomes.push([c, await ask(services, c.q, viewer)]);
    let denied = 0;
    for (const [c, o] of outcomes) {
      const named = /\bstore (\d+)/.exec(c.line ?? '')?.[1];
      if (named && named !== '5') {
        expect(o.kind, c.q).toBe('denied');
        denied++;
      }
      if (o.kind === 'ok') {
        const stores = storesOf(o.reach);
        expect(stores === undefined || (stores !== 'chain' && stores.every((s) => s === 5)), `${c.q}: ${JSON.stringify(o.reach)}`).toBe(true);
      }
    }
    expect(denied).toBeGreaterThanOrEqual(90);
    // The campaign of store 7 alone: refused to a viewer of store 5 exactly as the typed /campaign-impact is.
    const typed = await services.run({ name: 'campaign-impact', text: 'spring-push' }, viewer);
    const asked = await ask(services, 'did the spring-push campaign work?', viewer);
    if (asked.kind === 'ok' || typed.kind === 'ok') throw new Error(`spring-push answered to a viewer of store 5 (${asked.kind}, ${typed.kind})`);
    expect({ kind: asked.kind, error: asked.error }).toEqual({ kind: typed.kind, error: typed.error });
  }, 300_000);

  it("offers a region's stores for a one-store command, only those the asker may see", async () => {
    const o = await ask(services, 'which stores are low on stock in the West?', viewer);
    expect(o.kind).toBe('user-error');
    expect(o.reply.actions.map((a) => a.command)).toEqual(['/stock store 5']);
    expect(o.reply.summary).not.toMatch(/\b7\b/);
    const admin = await ask(services, 'which stores are low on stock in the West?', { platform: 'cli', roles: [] });
    expect(admin.reply.actions.map((a) => a.command)).toEqual(['/stock store 5', '/stock store 7']);
  });

  it('answers a question about their own store, starting with how it was read', async () => {
    const o = await ask(services, 'how did store five do last week?', viewer);
    expect(o.kind).toBe('ok');
    expect(o.readAs).toBe('/sales store 5 from 2012-10-26');
    expect(o.reply.summary).toMatch(/^Read as `\/sales store 5 from 2012-10-26`\. \$[\d,.]+[KM]? over 1 weeks?/);
  });
});

describe('plain questions on the API and the CLI', () => {
  let t: TestDatabase;
  let app: ReturnType<typeof createApp>['app'];
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await importDemoStores(t.db, [5, 7]);
    app = createApp(testServices(t.db)).app;
  }, 120_000);
  afterAll(() => t?.cleanup());

  const post = (command: string) => app.request('/api/v1/commands', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command }) });

  it('POST /api/v1/commands takes a plain question where a command line goes', async () => {
    const res = await post('what will store 5 sell over the next twelve weeks?');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { kind: string; readAs: string; reply: { summary: string; data: { horizon?: number } } };
    expect(body.readAs).toBe('/forecast store 5 horizon 12');
    expect(body.reply.summary.startsWith('Read as `/forecast store 5 horizon 12`.')).toBe(true);
    const unsure = await post('store 5 sales next weeks');
    expect(unsure.status).toBe(400);
    const u = (await unsure.json()) as { readings: string[]; reply: { actions: { command: string }[] } };
    expect(u.readings).toHaveLength(2);
    expect(u.reply.actions.map((a) => a.command)).toEqual(u.readings);
    const none = await post('tell me a joke');
    expect(none.status).toBe(400);
    expect(((await none.json()) as { reply: { title: string } }).reply.title).toBe('I could not read that as a question');
  });

  it('runs a reading as typed options, so a region named in two words stays one region', async () => {
    await t.db.exec(`UPDATE stores SET region = 'Gulf Coast'`);
    forgetVocabulary(t.db); // names are re-read within a minute anyway; the test does not wait
    const res = await post('how much do holidays lift sales on the gulf coast?');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { readAs: string; reply: { title: string } };
    expect(body.readAs).toBe('/holiday-impact region Gulf Coast');
    expect(body.reply.title).toContain('Gulf Coast');
  });

  it('storecast ask "how did store 5 do last week?" --json', async () => {
    const r = await runStorecast(['ask', 'how did store 5 do last week?', '--json'], { DATABASE_URL: t.url! });
    expect(r.code).toBe(0);
    const reply = JSON.parse(r.stdout) as { readAs: string; summary: string; title: string };
    expect(reply.readAs).toBe('/sales store 5 from 2012-10-26');
    expect(reply.title).toMatch(/^Store 5: sales/);
  }, 60_000);
});
