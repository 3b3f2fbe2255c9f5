import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { planInteraction } from '../src/adapters/discord/interactions.ts';
import { createLoginToken, signIn } from '../src/auth/console-sessions.ts';
import { hashToken } from '../src/auth/tokens.ts';
import { importRecords } from '../src/data/import.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { openPostgres, type Database } from '../src/db/client.ts';
import { createApp } from '../src/server/app.ts';
import type { Asker, Services } from '../src/services.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

type App = ReturnType<typeof createApp>['app'];

const SLACK: Asker = { platform: 'slack', workspace: 'T1', channel: 'C1', user: 'U1', roles: [] };
const DISCORD: Asker = { platform: 'discord', workspace: 'G1', channel: 'C9', user: 'U2', roles: ['R9'] };
const RESTRICTED = { STORECAST_ACCESS: 'restricted', PUBLIC_URL: 'https://storecast.example' };

/** Stores 5 and 6 (East, West), 60 weeks of one department each. */
async function seed(db: Database) {
  await db.exec("INSERT INTO stores (store_id, type, size, region) VALUES (5, 'A', 150000, 'East'), (6, 'B', 90000, 'West')");
  const rows = [5, 6].flatMap((store) => Array.from({ length: 60 }, (_, i) => [String(store), '1', addWeeks('2010-02-05', i), String(1000 + 10 * i), 'FALSE']));
  await importRecords(db, 'train', 'fixture', [rows]);
  await addGrant(db, { principal: 'slack:T1/U1', role: 'viewer', scope: { kind: 'store', store: 5 } });
  await addGrant(db, { principal: 'discord-role:G1/R9', role: 'viewer', scope: { kind: 'region', region: 'West' } });
}

/** The sign-in link /console answers `asker` with. */
async function consoleLink(services: Services, asker: Asker): Promise<string> {
  const outcome = await services.run({ name: 'console', text: '' }, asker);
  expect(outcome.kind).toBe('ok');
  expect(outcome.reply.visibility).toBe('ephemeral');
  return outcome.reply.data.url as string;
}

/** Opens a link as a browser would (path and query only) and returns the session cookie it set. */
async function open(app: App, url: string, headers: Record<string, string> = {}) {
  const u = new URL(url);
  const res = await app.request(`${u.pathname}${u.search}`, { headers });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = /^storecast_session=([^;]+)/.exec(setCookie)?.[1];
  return { res, setCookie, cookie: cookie ? `storecast_session=${cookie}` : undefined };
}

const run = (app: App, command: string, cookie?: string) =>
  app.request('/api/v1/commands', { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ command }) });

describe.each(DB_KINDS)('web console sign-in (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  let app: App;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await seed(t.db);
    services = testServices(t.db, RESTRICTED);
    app = createApp(services).app;
  });
  afterAll(() => t.cleanup());

  it('restricted without a session: / explains /console, the API answers 401 in the one error shape', async () => {
    const page = await app.request('/');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="sign-in"');
    expect(html).toMatch(/run <code>\/console<\/code>/);
    expect(html).not.toContain('<form id="ask">');
    for (const res of [await run(app, '/sales store 5'), await app.request('/api/v1/session')]) {
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: expect.stringMatching(/run \/console in Slack or Discord/) } });
    }
    // Same-origin still comes first: another site hears 403, not whether anyone is signed in.
    expect((await app.request('/api/v1/commands', { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: '{}' })).status).toBe(403);
  });

  it('/console answers the asker alone with a link to PUBLIC_URL; the console and anonymous askers are told where to ask', async () => {
    const outcome = await services.run({ name: 'console', text: '' }, SLACK);
    expect(outcome.kind).toBe('ok');
    const url = new URL(outcome.reply.data.url as string);
    expect(url.origin).toBe('https://storecast.example');
    expect(url.pathname).toBe('/console/login');
    expect(url.searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(outcome.reply.facts[0]).toEqual({ label: 'Link', value: url.toString() });
    expect(outcome.reply.summary).toContain('Slack user U1 (T1)');
    // Only the hash is stored, bound to the principal.
    const [row] = await t.db.query<{ principal: string; minutes: number }>(
      'SELECT principal, round(extract(epoch FROM expires_at - created_at) / 60)::int AS minutes FROM console_login_tokens WHERE token_hash = $1',
      [hashToken(url.searchParams.get('token')!)],
    );
    expect(row).toEqual({ principal: 'slack:T1/U1', minutes: 10 });
    expect(JSON.stringify(await t.db.query('SELECT * FROM console_login_tokens'))).not.toContain(url.searchParams.get('token'));

    for (const asker of [{ platform: 'web', roles: [] }, { platform: 'cli', roles: [] }] as Asker[]) {
      const refused = await services.run({ name: 'console', text: '' }, asker);
      expect(refused.kind, asker.platform).toBe('user-error');
    }
  });

  it('Discord defers /console privately: not even "thinking…" shows in the channel', async () => {
    const interaction = { id: 'i1', application_id: 'A1', token: 'tok', type: 2, guild_id: 'G1', channel_id: 'C9', member: { user: { id: 'U2' }, roles: ['R9'] }, data: { type: 1, name: 'console', options: [] } };
    const plan = await planInteraction({ services, rest: {} as never, retry: {} as never, autocomplete: {} as never }, interaction as never);
    expect(plan.initial).toEqual({ type: 5, data: { flags: 64 } }); // DeferredChannelMessageWithSource, Ephemeral
  });

  it('a link signs in once: cookie flags, redirect to /, then the console runs as that user with their grants', async () => {
    const link = await consoleLink(services, SLACK);
    const { res, setCookie, cookie } = await open(app, link);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Secure/); // PUBLIC_URL is https
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).toMatch(/Max-Age=43200/); // 12 hours by default
    expect(cookie).toBeDefined();

    const again = await open(app, link);
    expect(again.res.status).toBe(410);
    expect(again.cookie).toBeUndefined();
    expect(await again.res.text()).toContain('used already');

    const page = await app.request('/', { headers: { cookie: cookie! } });
    expect(await page.text()).toContain('<form id="ask">');
    const session = await app.request('/api/v1/session', { headers: { cookie: cookie! } });
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ mode: 'restricted', signedIn: true, principal: 'slack:T1/U1', who: 'Slack user U1 (T1)', access: 'viewer of Store 5', stores: [5] });
    // The audit row of the call names the console user, not "anonymous".
    const [audited] = await t.db.query<{ principal: string }>("SELECT principal FROM audit_log WHERE route = '/api/v1/session' AND status = 200 ORDER BY id DESC LIMIT 1");
    expect(audited?.principal).toBe('slack:T1/U1');

    const five = await run(app, '/sales store 5', cookie);
    expect(five.status).toBe(200);
    const six = await run(app, '/sales store 6', cookie);
    expect(six.status).toBe(403);
    expect(await six.json()).toMatchObject({ kind: 'denied', error: { message: expect.stringMatching(/You cannot see Store 6\. You are viewer of Store 5/) } });
    // Signed in is identified: a manage command is refused for lack of the role, not for being anonymous.
    const manage = (await (await run(app, '/subscriptions', cookie)).json()) as { error: { message: string } };
    expect(manage.error.message).not.toMatch(/signed-in identity/);
  });

  it('refuses an expired link, a wrong one and a malformed one, each with a clear page and no cookie', async () => {
    const link = await consoleLink(services, SLACK);
    await t.db.query("UPDATE console_login_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1", [hashToken(new URL(link).searchParams.get('token')!)]);
    const expired = await open(app, link);
    expect(expired.res.status).toBe(410);
    expect(expired.cookie).toBeUndefined();
    expect(await expired.res.text()).toContain('This sign-in link has expired');

    for (const token of ['A'.repeat(43), 'short', '', '<script>alert(1)</script>']) {
      const wrong = await open(app, `http://x/console/login?token=${encodeURIComponent(token)}`);
      expect(wrong.res.status, token).toBe(400);
      expect(wrong.cookie).toBeUndefined();
      const html = await wrong.res.text();
      expect(html).toContain('This sign-in link does not work');
      expect(html).not.toContain('<script>alert');
    }
  });

  it('link previews and HEAD requests do not use a link up', async () => {
    const link = await consoleLink(services, SLACK);
    const u = new URL(link);
    expect((await app.request(`${u.pathname}${u.search}`, { method: 'HEAD' })).headers.get('set-cookie')).toBeNull();
    for (const agent of ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)']) {
      const preview = await open(app, link, { 'user-agent': agent });
      expect(preview.res.status).toBe(200);
      expect(preview.cookie).toBeUndefined();
    }
    expect((await open(app, link)).cookie).toBeDefined();
  });

  it("a Discord member's roles come along: discord-role grants apply in the console", async () => {
    const { cookie } = await open(app, await consoleLink(services, DISCORD));
    expect(await (await app.request('/api/v1/session', { headers: { cookie: cookie! } })).json()).toMatchObject({ principal: 'discord:G1/U2', who: 'Discord user U2 (G1)', access: 'viewer of West region', stores: [6] });
    expect((await run(app, '/sales store 6', cookie)).status).toBe(200);
    expect((await run(app, '/sales store 5', cookie)).status).toBe(403);
  });

  it('logout ends the session on the server and clears the cookie; other sites cannot log you out', async () => {
    const { cookie } = await open(app, await consoleLink(services, SLACK));
    const crossSite = await app.request('/console/logout', { method: 'POST', headers: { cookie: cookie!, origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect((await run(app, '/sales store 5', cookie)).status).toBe(200);

    const out = await app.request('/console/logout', { method: 'POST', headers: { cookie: cookie!, 'sec-fetch-site': 'same-origin' } });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/');
    expect(out.headers.get('set-cookie')).toMatch(/storecast_session=;.*Max-Age=0/);
    // The old cookie, replayed, signs in no one.
    expect((await run(app, '/sales store 5', cookie)).status).toBe(401);
    expect(await (await app.request('/', { headers: { cookie: cookie! } })).text()).toContain('id="sign-in"');
  });

  it('a session ends when it expires', async () => {
    const { cookie } = await open(app, await consoleLink(services, SLACK));
    expect((await run(app, '/sales store 5', cookie)).status).toBe(200);
    await t.db.query("UPDATE console_sessions SET expires_at = now() - interval '1 second'");
    expect((await run(app, '/sales store 5', cookie)).status).toBe(401);
  });

  it('open mode is unchanged: the console works anonymously, and a session there still names its user', async () => {
    const openServices = testServices(t.db, { STORECAST_ACCESS: 'open' });
    const openApp = createApp(openServices).app;
    expect(await (await openApp.request('/')).text()).toContain('<form id="ask">');
    expect((await run(openApp, '/sales store 6')).status).toBe(200);
    expect(await (await openApp.request('/api/v1/session')).json()).toMatchObject({ mode: 'open', signedIn: false, principal: null, stores: 'all' });
    const { setCookie, cookie } = await open(openApp, await consoleLink(openServices, SLACK));
    expect(setCookie).not.toMatch(/Secure/); // no https PUBLIC_URL: the cookie must work on http://localhost
    expect(await (await openApp.request('/api/v1/session', { headers: { cookie: cookie! } })).json()).toMatchObject({ signedIn: true, principal: 'slack:T1/U1' });
  });
});

describe('web console sessions across replicas (postgres)', () => {
  let t: TestDatabase;
  let other: Database;

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await seed(t.db);
    other = await openPostgres(t.url!);
  });
  afterAll(async () => {
    await other?.close();
    await t?.cleanup();
  });

  it('a link made on one replica signs in on another, and the session works on a third', async () => {
    const a = testServices(t.db, RESTRICTED);
    const b = createApp(testServices(other, RESTRICTED)).app;
    const c = createApp(testServices(t.db, RESTRICTED)).app;
    const { cookie } = await open(b, await consoleLink(a, SLACK));
    expect(cookie).toBeDefined();
    expect((await run(c, '/sales store 5', cookie)).status).toBe(200);
    expect(await (await c.request('/api/v1/session', { headers: { cookie: cookie! } })).json()).toMatchObject({ principal: 'slack:T1/U1' });
  });

  it('of two replicas opening one link at once, exactly one signs in', async () => {
    for (let i = 0; i < 5; i++) {
      const { token } = await createLoginToken(t.db, { principal: 'slack:T1/U1', roles: [], issuedVia: 'cli' });
      const results = await Promise.all([signIn(t.db, token, 1), signIn(other, token, 1)]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.find((r) => !r.ok)).toEqual({ ok: false, reason: 'used' });
    }
  });

  it('storecast console-link --as prints a link for someone; a bad principal exits 2', async () => {
    const bin = fileURLToPath(new URL('../bin/storecast.js', import.meta.url));
    const env = { ...process.env, LOG_LEVEL: 'silent', DATABASE_URL: t.url!, PUBLIC_URL: 'https://storecast.example' };
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, 'console-link', '--as', 'discord:G1/U2', '--role', 'R9'], { env });
    expect(stderr).toContain('Discord user U2 (G1)');
    const link = stdout.trim();
    expect(link).toMatch(/^https:\/\/storecast\.example\/console\/login\?token=[A-Za-z0-9_-]{43}$/);
    const { cookie } = await open(createApp(testServices(t.db, RESTRICTED)).app, link);
    const app = createApp(testServices(t.db, RESTRICTED)).app;
    expect(await (await app.request('/api/v1/session', { headers: { cookie: cookie! } })).json()).toMatchObject({ principal: 'discord:G1/U2', stores: [6] });

    const bad = await promisify(execFile)(process.execPath, [bin, 'console-link', '--as', 'discord-role:G1/R9'], { env }).catch((err: { code: number; stderr: string }) => err);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/--as must be a Slack or Discord user/) });
  });
});
