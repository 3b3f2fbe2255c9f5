import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_EXTENSION } from '../src/api/access.ts';
import { slackSignature } from '../src/adapters/slack/verify.ts';
import { createLoginToken, signIn } from '../src/auth/console-sessions.ts';
import { SCOPES, createToken, type TokenPermission } from '../src/auth/tokens.ts';
import { createApp } from '../src/server/app.ts';
import { SESSION_COOKIE } from '../src/server/console-session.ts';
import { SERVER_ROUTES, type ServerRouteAccess } from '../src/server/routes.ts';
import { discordHeaders, discordKeys } from './fakes/discord-api.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

type Principal = { name: string; headers: Record<string, string>; token?: TokenPermission; console?: boolean };
type Route = { method: string; path: string; access: ServerRouteAccess };

const SLACK_SECRET = 'matrix-signing-secret-0123456789abcdef';
const keys = discordKeys();

/** A concrete URL for a templated path: the route must exist, the values need not. */
const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_, name: string) => ({ id: 'x_000000000000', file: 'AAAAAAAAAAAAAAAAAAAAAAAA.png', asset: 'init.js' })[name] ?? 'x');
const accessOf = (label: string): ServerRouteAccess =>
  label.startsWith('token:')
    ? { kind: 'token', scope: label.slice(6) as TokenPermission }
    : label.startsWith('console|token:')
      ? { kind: 'console-or-token', scope: label.slice('console|token:'.length) as TokenPermission }
      : label === 'console'
        ? { kind: 'console' }
        : { kind: 'public', why: 'declared in the API table' };

/** What each principal must get from a route with this access: refused (401/403) or let through. */
function expected(access: ServerRouteAccess, who: Principal): 401 | 403 | 'through' {
  switch (access.kind) {
    case 'public':
      return 'through';
    case 'signed':
      return 401; // no principal here can sign as Slack or Discord
    case 'console':
      return who.console ? 'through' : 401; // restricted mode: a session or nothing
    case 'token':
      if (!who.token) return 401;
      return who.token === access.scope || who.token === 'admin' ? 'through' : 403;
    case 'console-or-token':
      if (who.token) return who.token === access.scope || who.token === 'admin' ? 'through' : 403;
      return who.console ? 'through' : 401;
  }
}

describe('every HTTP route of the composed app x every principal (restricted mode)', () => {
  let t: TestDatabase;
  let app: ReturnType<typeof createApp>['app'];
  let routes: Route[];
  const principals: Principal[] = [{ name: 'anonymous', headers: {} }];

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    const services = testServices(t.db, {
      STORECAST_ACCESS: 'restricted',
      SLACK_SIGNING_SECRET: SLACK_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-matrix',
      SLACK_API_URL: 'http://127.0.0.1:9/api/',
      DISCORD_PUBLIC_KEY: keys.publicKeyHex,
      DISCORD_APP_ID: '1100000000000000001',
    });
    app = createApp(services).app;
    const { token: login } = await createLoginToken(t.db, { principal: 'slack:T1/U1', roles: [], issuedVia: 'test' });
    const signedIn = await signIn(t.db, login, 1);
    if (!signedIn.ok) throw new Error('sign-in failed');
    principals.push({ name: 'console user', headers: { cookie: `${SESSION_COOKIE}=${signedIn.sessionId}` }, console: true });
    for (const scope of SCOPES) principals.push({ name: `${scope} token`, headers: { authorization: `Bearer ${(await createToken(t.db, { name: scope, scopes: [scope] })).token}` }, token: scope });
    const doc = (await (await app.request('/api/v1/openapi.json')).json()) as { paths: Record<string, Record<string, Record<string, string>>> };
    const api = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path: `/api/v1${path}`, access: accessOf(op[ACCESS_EXTENSION]!) })));
    routes = [...api, ...SERVER_ROUTES];
  });
  afterAll(() => t.cleanup());

  it('mounts exactly the declared routes: the API table and SERVER_ROUTES', () => {
    const mounted = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')}`));
    expect([...mounted].sort()).toEqual([...new Set(routes.map((r) => `${r.method} ${r.path}`))].sort());
  });

  it('answers each principal as the route’s declared access says', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      for (const who of principals) {
        const body = route.method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json', ...who.headers } } : { headers: who.headers };
        const res = await app.request(concrete(route.path), { method: route.method, ...body });
        const want = expected(route.access, who);
        const ok = want === 'through' ? res.status !== 401 && res.status !== 403 : res.status === want;
        if (!ok) failures.push(`${route.method} ${route.path} as ${who.name}: ${res.status}, expected ${want}`);
      }
    }
    expect(failures).toEqual([]);
    expect(routes.length * principals.length).toBeGreaterThan(100);
  });

  it('lets a platform-signed request through the signed routes', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const slackBody = JSON.stringify({ type: 'url_verification', challenge: 'c123' });
    const slack = await app.request('/slack/events', { method: 'POST', body: slackBody, headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SLACK_SECRET, ts, slackBody) } });
    expect(slack.status).toBe(200);
    const ping = JSON.stringify({ type: 1, id: '1', application_id: '1100000000000000001', token: 't', version: 1 });
    const discord = await app.request('/discord/interactions', { method: 'POST', body: ping, headers: discordHeaders(keys.privateKey, ping) });
    expect(discord.status).toBe(200);
  });
});
