import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/config.ts';
import { importRecords } from '../src/data/import.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { createLogger } from '../src/logger.ts';
import { createApp } from '../src/server/app.ts';
import { createServices, type Services } from '../src/services.ts';
import { listen } from './fakes/serve.ts';
import { runStorecast } from './helpers/cli.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';

// Issue 20: one outbound policy (STORECAST_OUTBOUND_ALLOW) for a URL wherever it was typed.

const KEY_HEX = randomBytes(32).toString('hex');
/** The operator lets one internal network through; everything else internal stays refused. */
const ALLOW = '10.9.0.0/16';
const URLS: [string, 'accepted' | 'refused'][] = [
  ['https://10.9.1.2/hook', 'accepted'], // internal, but allowed by the operator
  ['https://10.1.2.3/hook', 'refused'], // internal, not allowed
  ['https://169.254.169.254/latest/meta-data', 'refused'], // cloud metadata, never
  ['https://hooks.example.test/h', 'accepted'], // does not resolve yet: checked again at every send
  ['http://127.0.0.1:9/hook', 'refused'], // loopback (http:// is taken for it), not allowed
];
const env = { STORECAST_DATA_DIR: 'memory://', LOG_LEVEL: 'silent', STORECAST_ACCESS: 'open', STORECAST_RATE_LIMIT: '0', STORECAST_SECRET_KEY: KEY_HEX, STORECAST_OUTBOUND_ALLOW: ALLOW };

describe.each(DB_KINDS)('the same URL gets the same answer everywhere (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  let http: Awaited<ReturnType<typeof listen>>;
  let token: string;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await t.db.exec("INSERT INTO stores (store_id, type, size, region) VALUES (1, 'A', 150000, 'West')");
    const rows: string[][] = [];
    for (let i = 0; i < 60; i++) rows.push(['1', '1', addWeeks('2011-02-04', i), (1000 + 200 * Math.sin(i / 8)).toFixed(2), 'FALSE']);
    await importRecords(t.db, 'train', 'test', [rows]);
    token = (await createToken(t.db, { name: 'ops', scopes: ['admin'] })).token;
    services = createServices({ config: loadConfig(env), db: t.db, logger: createLogger('silent'), forecaster: new SeasonalNaiveForecaster() });
    http = await listen(createApp(services).app);
  });
  afterAll(async () => {
    await http?.close();
    await services?.outbound.close();
    await t?.cleanup();
  });

  const api = async (path: string, body: unknown) => {
    const res = await fetch(`${http.url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as { error?: { code: string; message: string } };
    return res.status === 201 ? 'accepted' : res.status === 400 && json.error?.code === 'internal_address' ? 'refused' : `HTTP ${res.status} ${JSON.stringify(json)}`;
  };
  const cli = async (args: string[]) => {
    const r = await runStorecast(args, { DATABASE_URL: t.url!, STORECAST_SECRET_KEY: KEY_HEX, STORECAST_OUTBOUND_ALLOW: ALLOW });
    return r.code === 0 ? 'accepted' : /internal address/.test(r.stderr) ? 'refused' : `exit ${r.code}: ${r.stderr}`;
  };
  const chat = async (line: string) => {
    const [name, ...rest] = line.split(' ');
    const outcome = await services.run({ name: name!, text: rest.join(' ') }, { platform: 'slack', workspace: 'T1', channel: 'C1', user: 'U1', roles: ['admin'] });
    return outcome.kind === 'ok' ? 'accepted' : outcome.reply.summary;
  };

  it.each(URLS)('%s is %s by the API (subscriptions and alerts) and, on Postgres, the CLI', async (url, expected) => {
    const answers: Record<string, string> = {
      'POST /api/v1/subscriptions': await api('/subscriptions', { store: 1, url, every: 'monday 08:00' }),
      'POST /api/v1/alerts': await api('/alerts', { kind: 'stock', store: 1, belowWeeks: 2, url }),
    };
    // The CLI is a child process: it can share only a server database with this test.
    if (t.url) {
      answers['storecast subscriptions create'] = await cli(['subscriptions', 'create', '--store', '1', '--url', url]);
      answers['storecast alerts create'] = await cli(['alerts', 'create', '--kind', 'stock', '--store', '1', '--below-weeks', '2', '--url', url]);
    }
    expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((k) => [k, expected])));
  });

  it.each(URLS)('%s gets one answer in chat from /alert and /subscribe, whatever the policy says: URLs are not taken there', async (url) => {
    // As Slack sends a link: <url>.
    expect(await chat(`/alert stock store 1 below 2 weeks to <${url}>`)).toMatch(/Webhook URLs are not taken in chat/);
    expect(await chat(`/subscribe store 1 to <${url}>`)).not.toBe('accepted');
    // Where /subscribe takes a target (email), a URL gets the /alert answer: one target check (src/delivery/targets.ts).
    expect(await chat(`/subscribe store 1 email <${url}>`)).toMatch(/Webhook URLs are not taken in chat.*\/api\/v1\/subscriptions/);
    // Nothing was stored by either.
    expect(await t.db.query("SELECT id FROM alert_rules WHERE created_by LIKE 'slack:%'")).toHaveLength(0);
    expect(await t.db.query("SELECT id FROM webhook_subscriptions WHERE workspace = 'T1'")).toHaveLength(0);
  });

  it('the policy services hands to chat, the API and the schedulers is built from STORECAST_OUTBOUND_ALLOW', async () => {
    await expect(services.outbound.check('https://10.9.1.2/hook')).resolves.toBeUndefined();
    await expect(services.outbound.check('https://10.1.2.3/hook')).rejects.toThrow(/internal address/);
  });
});
