import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../src/access/grants.ts';
import { createLoginToken, recheckSessions, signIn } from '../src/auth/console-sessions.ts';
import { createApp } from '../src/server/app.ts';
import { SESSION_COOKIE, sessionRecheck } from '../src/server/console-session.ts';
import type { Asker, Services } from '../src/services.ts';
import { FAKE_BOT_TOKEN, FakeDiscord } from './fakes/discord-api.ts';
import { createTestDatabase, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { runStorecast } from './helpers/cli.ts';
import { testServices } from './helpers/services.ts';

/** Console sessions follow the principal's access after sign-in: roles re-read, grants re-checked, admins may end them. */
describe('console sessions re-check roles and grants, and an admin can end them (restricted, postgres)', () => {
  let t: TestDatabase;
  let services: Services;
  let discord: FakeDiscord;
  let app: ReturnType<typeof createApp>['app'];

  const signedIn = async (principal: string, roles: string[] = []) => {
    const { token } = await createLoginToken(t.db, { principal, roles, issuedVia: 'test' });
    const result = await signIn(t.db, token, 12);
    if (!result.ok) throw new Error(result.reason);
    return `${SESSION_COOKIE}=${result.sessionId}`;
  };
  const whoami = async (cookie: string) => {
    const res = await app.request('/api/v1/session', { headers: { cookie } });
    return res.status === 200 ? ((await res.json()) as { principal: string; stores: unknown }) : res.status;
  };
  const slack = (user: string): Asker => ({ platform: 'slack', workspace: 'T1', channel: 'C1', user, roles: [] });

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await importDemoStores(t.db, [5, 7]);
    discord = new FakeDiscord();
    await discord.listen();
    services = testServices(t.db, { STORECAST_ACCESS: 'restricted', DISCORD_BOT_TOKEN: FAKE_BOT_TOKEN, DISCORD_API_URL: discord.apiUrl });
    app = createApp(services).app;
    await addGrant(t.db, { principal: 'discord-role:100/200', role: 'viewer', scope: { kind: 'store', store: 5 } });
    await addGrant(t.db, { principal: 'discord-role:100/300', role: 'viewer', scope: { kind: 'store', store: 7 } });
    await addGrant(t.db, { principal: 'slack:T1/UADMIN', role: 'admin', scope: { kind: 'chain' } });
  }, 120_000);
  afterAll(async () => {
    await discord?.close();
    await t?.cleanup();
  });

  it('Discord roles copied at sign-in are read again: a changed role changes access, a lost one (or leaving the guild) ends the session', async () => {
    const changed = await signedIn('discord:100/11', ['200']);
    const lost = await signedIn('discord:100/12', ['200']);
    const left = await signedIn('discord:100/13', ['200']);
    expect(await whoami(changed)).toMatchObject({ principal: 'discord:100/11', stores: [5] });
    discord.members.set('100/11', ['300']);
    discord.members.set('100/12', []);
    // Not due yet: nothing is asked of Discord before the interval.
    expect(await recheckSessions(t.db, 60_000, sessionRecheck(services))).toEqual({ checked: 0, ended: 0 });
    expect(await recheckSessions(t.db, 0, sessionRecheck(services))).toMatchObject({ ended: 2 });
    expect(discord.requests('GET', /^\/guilds\/100\/members\/1[123]$/)).toHaveLength(3);
    expect(await whoami(changed)).toMatchObject({ stores: [7] });
    expect(await whoami(lost)).toBe(401);
    expect(await whoami(left)).toBe(401);
  });

  it('revoking the last grant of a member ends their sessions at once', async () => {
    await addGrant(t.db, { principal: 'slack:T1/UGONE', role: 'viewer', scope: { kind: 'store', store: 5 } });
    await addGrant(t.db, { principal: 'slack:T1/UKEEP', role: 'viewer', scope: { kind: 'store', store: 5 } });
    await addGrant(t.db, { principal: 'slack:T1/UKEEP', role: 'viewer', scope: { kind: 'store', store: 7 } });
    const gone = await signedIn('slack:T1/UGONE');
    const keep = await signedIn('slack:T1/UKEEP');
    expect((await services.run({ name: 'access', text: 'revoke slack:T1/UGONE' }, slack('UADMIN'))).kind).toBe('ok');
    expect((await services.run({ name: 'access', text: 'revoke slack:T1/UKEEP store 5' }, slack('UADMIN'))).kind).toBe('ok');
    expect(await whoami(gone)).toBe(401);
    expect(await whoami(keep)).toMatchObject({ stores: [7] });
  });

  it('/access signout @member ends all their sessions (admins of what they hold), audited', async () => {
    await addGrant(t.db, { principal: 'slack:T1/UBOB', role: 'viewer', scope: { kind: 'chain' } });
    await addGrant(t.db, { principal: 'slack:T1/UA5', role: 'admin', scope: { kind: 'store', store: 5 } });
    const first = await signedIn('slack:T1/UBOB');
    const second = await signedIn('slack:T1/UBOB');
    const refused = await services.run({ name: 'access', text: 'signout slack:T1/UBOB' }, slack('UA5'));
    expect(refused.kind).toBe('denied');
    expect(await whoami(first)).toMatchObject({ principal: 'slack:T1/UBOB' });
    const done = await services.run({ name: 'access', text: 'signout slack:T1/UBOB' }, slack('UADMIN'));
    expect(done.kind).toBe('ok');
    expect(done.reply.summary).toContain('Ended 2 console sessions of Slack user UBOB (T1)');
    expect(await whoami(first)).toBe(401);
    expect(await whoami(second)).toBe(401);
    const rows = await t.db.query<{ principal: string; outcome: string }>("SELECT principal, outcome FROM audit_log WHERE command LIKE '/access %signout %slack:T1/UBOB' ORDER BY id");
    expect(rows).toEqual([
      { principal: 'slack:T1/UA5', outcome: 'denied' },
      { principal: 'slack:T1/UADMIN', outcome: 'ok' },
    ]);
  });

  it('storecast access signout PRINCIPAL ends them from the shell, audited', async () => {
    const cookie = await signedIn('slack:T1/UADMIN');
    const out = await runStorecast(['access', 'signout', 'slack:T1/UADMIN'], { DATABASE_URL: t.url! });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('Ended 1 console session of Slack user UADMIN (T1)');
    expect(await whoami(cookie)).toBe(401);
    expect(await t.db.query("SELECT principal FROM audit_log WHERE command = 'access signout slack:T1/UADMIN'")).toEqual([{ principal: 'cli' }]);
  }, 60_000);
});
