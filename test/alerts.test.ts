import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertScheduler, type AlertScheduler } from '../src/alerts/scheduler.ts';
import { evaluateAfterImport } from '../src/alerts/hooks.ts';
import { RUN_ACTION } from '../src/adapters/slack/blocks.ts';
import { slackSignature } from '../src/adapters/slack/verify.ts';
import { openPostgres, type Database } from '../src/db/client.ts';
import { createApp } from '../src/server/app.ts';
import type { Services } from '../src/services.ts';
import { ingestJson } from '../src/data/ingest.ts';
import { FakeSlack } from './fakes/slack-api.ts';
import { listen } from './fakes/serve.ts';
import { DB_KINDS, createTestDatabase, type TestDatabase, importDemoStores } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

const SECRET = 'alerts-signing-secret-0123456789abcdef';
const TEAM = 'T1DC2JH3J';
const CHANNEL = 'C0STOCK';

function signed(body: string): RequestInit {
  const ts = Math.floor(Date.now() / 1000);
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SECRET, ts, body) }, body };
}

/**
 * Two replicas on one database: each its own Services (and, on Postgres, its own connection
 * pool), its own alert scheduler, both evaluating and delivering at the same moments.
 */
describe.each(DB_KINDS)('a stock alert created in Slack, two replicas (%s)', (kind) => {
  let t: TestDatabase;
  let second: Database;
  let fake: FakeSlack;
  const replicas: { services: Services; scheduler: AlertScheduler }[] = [];
  let server: Awaited<ReturnType<typeof listen>>;
  let weekly: Map<number, number>;

  /** Stock of every department of store 5: `weeks` of its recent sales, dept 7 given its own. */
  const counts = (weeks: number, dept7: number, asOf = '2012-10-26') => [...weekly].map(([dept, avg]) => ({ store: 5, dept, date: asOf, onHand: Math.round(avg * (dept === 7 ? dept7 : weeks)), leadTimeWeeks: 1 }));

  /** The same ingest reaching both replicas' hooks at once, then every scheduler ticking together. */
  async function ingestEverywhere(rows: Record<string, unknown>[]) {
    const report = await ingestJson(t.db, rows, 'test', 'stock');
    await Promise.all(replicas.map((r) => evaluateAfterImport(r.services, report)));
    for (let i = 0; i < 3; i++) await Promise.all(replicas.map((r) => r.scheduler.tick()));
    await new Promise((r) => setTimeout(r, 200));
  }
  const posts = (title: string) => fake.method('chat.postMessage').filter((c) => JSON.stringify(c.body.blocks ?? '').includes(title));

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [5]);
    const rows = await t.db.query<{ dept_id: number; avg: number }>("SELECT dept_id, avg(sales)::float8 AS avg FROM weekly_sales WHERE store_id = 5 AND week > '2012-08-31' GROUP BY dept_id");
    weekly = new Map(rows.map((r) => [r.dept_id, Math.max(100, r.avg)]));
    await ingestJson(t.db, counts(30, 30), 'test', 'stock');
    fake = new FakeSlack();
    await fake.listen();
    second = kind === 'postgres' ? await openPostgres(t.url!) : t.db;
    const env = { SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: 'xoxb-alerts', SLACK_API_URL: fake.apiUrl };
    for (const db of [t.db, second]) {
      const services = testServices(db, env);
      replicas.push({ services, scheduler: createAlertScheduler(services, { backoffBaseMs: 10, backoffMaxMs: 50 }) });
    }
    server = await listen(createApp(replicas[0]!.services).app);
    await fake.waitFor((c) => c.path === '/api/auth.test');
  }, 180_000);

  afterAll(async () => {
    for (const r of replicas) await r.services.drain();
    await server?.close();
    await fake?.close();
    if (second !== t.db) await second?.close();
    await t?.cleanup();
  });

  it('fires once when an ingest brings cover under the threshold, and posts "resolved" once when restocked', async () => {
    const command = new URLSearchParams({ team_id: TEAM, channel_id: CHANNEL, user_id: 'U2CERLKJA', user_name: 'roadrunner', command: '/alert', text: 'stock store 5 below 2 weeks', response_url: fake.responseUrl('alerts/1'), trigger_id: '1.2.3' }).toString();
    expect((await fetch(`${server.url}/slack/events`, signed(command))).status).toBe(200);
    const [created] = await fake.waitFor((c) => c.path === '/api/chat.postMessage' && JSON.stringify(c.body.blocks).includes('Alert set'));
    const id = /alr_[0-9a-f]+/.exec(JSON.stringify(created!.body.blocks))![0];

    // Healthy stock: evaluated on both replicas, nothing fires.
    await ingestEverywhere(counts(30, 30));
    expect(posts('Alert: Store 5')).toHaveLength(0);

    // Dept 7 drops to a few days of cover.
    await ingestEverywhere(counts(30, 0.3, '2012-10-27'));
    await ingestEverywhere(counts(30, 0.3, '2012-10-27'));
    const fired = posts('Alert: Store 5');
    expect(fired).toHaveLength(1);
    expect(fired[0]!.body.channel).toBe(CHANNEL);
    const text = JSON.stringify(fired[0]!.body.blocks);
    expect(text).toContain('Store 5 · Dept 7');
    expect(text).toContain(`/alert what snooze id ${id} for day`);
    expect(text).toContain(`/alert what ack id ${id}`);
    // The chart of the departments under the threshold, threaded under the notice.
    await fake.waitFor((c) => c.path === '/api/files.completeUploadExternal');

    // Restocked: one "resolved" notice, and nothing more however often they evaluate.
    await ingestEverywhere(counts(30, 30, '2012-10-28'));
    await ingestEverywhere(counts(30, 30, '2012-10-28'));
    expect(posts(`Resolved: Store 5`)).toHaveLength(1);
    expect(posts('Alert: Store 5')).toHaveLength(1);
    const log = await t.db.query<{ episode: number; kind: string; status: string }>('SELECT episode, kind, status FROM alert_notifications WHERE rule_id = $1 ORDER BY episode, kind', [id]);
    expect(log).toEqual([
      { episode: 1, kind: 'firing', status: 'succeeded' },
      { episode: 1, kind: 'resolved', status: 'succeeded' },
    ]);
  });

  it('the Snooze button (run as the clicker) keeps the next episode quiet; ack records who is on it', async () => {
    const [rule] = await t.db.query<{ id: string }>('SELECT id FROM alert_rules');
    const click = (value: string) =>
      new URLSearchParams({
        payload: JSON.stringify({
          type: 'block_actions',
          team: { id: TEAM },
          user: { id: 'U2CERLKJA', username: 'roadrunner', team_id: TEAM },
          api_app_id: 'A0FAKE',
          container: { type: 'message', message_ts: '1700000000.000100', channel_id: CHANNEL, is_ephemeral: false },
          trigger_id: '1.2.3',
          channel: { id: CHANNEL, name: 'stock' },
          message: { type: 'message', ts: '1700000000.000100', text: 'x' },
          response_url: fake.responseUrl('alerts/2'),
          actions: [{ type: 'button', action_id: `${RUN_ACTION}:0`, block_id: 'b1', text: { type: 'plain_text', text: 'x' }, value, action_ts: '1700000001.0' }],
        }),
      }).toString();
    expect((await fetch(`${server.url}/slack/events`, signed(click(`/alert snooze ${rule!.id} for day`)))).status).toBe(200);
    await fake.waitFor((c) => JSON.stringify(c.body).includes('Alert snoozed for a day'));
    await ingestEverywhere(counts(30, 0.2, '2012-10-29'));
    expect(posts('Alert: Store 5')).toHaveLength(1);
    const [notice] = await t.db.query<{ status: string }>("SELECT status FROM alert_notifications WHERE rule_id = $1 AND episode = 2 AND kind = 'firing'", [rule!.id]);
    expect(notice!.status).toBe('snoozed');

    expect((await fetch(`${server.url}/slack/events`, signed(click(`/alert ack ${rule!.id}`)))).status).toBe(200);
    await fake.waitFor((c) => JSON.stringify(c.body).includes('Alert acknowledged'));
    const [acked] = await t.db.query<{ acknowledged_by: string; acknowledged_episode: number }>('SELECT acknowledged_by, acknowledged_episode FROM alert_rules WHERE id = $1', [rule!.id]);
    expect(acked).toEqual({ acknowledged_by: `slack:${TEAM}/U2CERLKJA`, acknowledged_episode: 2 });
  });
});
