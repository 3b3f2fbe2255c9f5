import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRule } from '../src/alerts/rules.ts';
import { createAlertScheduler } from '../src/alerts/scheduler.ts';
import { createScheduler, createSubscription } from '../src/delivery/index.ts';
import { createOutbound } from '../src/net/outbound.ts';
import type { Services } from '../src/services.ts';
import { FakeHttpServer, type Injected } from './fakes/http.ts';
import { createTestDatabase, DB_KINDS, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';
import { TEST_SECRET_KEY } from './helpers/keys.ts';
import { testServices } from './helpers/services.ts';

// Issue 20: weekly summaries and alert notices are one queue, so they retry alike — the same
// Retry-After cap and the same backoff schedule, through the same senders (here, signed
// webhooks to a fake receiver, through the outbound guard).

const DAY = 86_400_000;
/** Short settings, the same for both schedulers: what is compared is that they obey them alike. */
const QUEUE = { backoffBaseMs: 1_000, backoffMaxMs: 60_000, maxAttempts: 3, key: TEST_SECRET_KEY };

describe.each(DB_KINDS)('one retry policy for summaries and alert notices (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;
  let answer: Injected = { status: 200 };
  const receiver = new FakeHttpServer(() => answer);

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    await importDemoStores(t.db, [5]);
    await receiver.listen();
    services = testServices(t.db, { STORECAST_OUTBOUND_ALLOW: '127.0.0.1' });
  }, 120_000);
  afterAll(async () => {
    await receiver.close();
    await t?.cleanup();
  });

  /** The one summary delivery and the one alert notice, as the queue sees them. */
  async function rows() {
    const sql = (table: string) => `SELECT status, attempts, last_status, next_attempt_at FROM ${table}`;
    const [summary] = await t.db.query<{ status: string; attempts: number; last_status: number | null; next_attempt_at: Date | string }>(sql('webhook_deliveries'));
    const [notice] = await t.db.query<{ status: string; attempts: number; last_status: number | null; next_attempt_at: Date | string }>(sql('alert_notifications'));
    return { summary: summary!, notice: notice! };
  }
  const waitOf = (row: { next_attempt_at: Date | string }, from: number) => new Date(row.next_attempt_at).getTime() - from;

  it('a 429 asking for two hours waits the backoff maximum for both; then 5xx backs off on the same schedule; then both die', async () => {
    let clock = Date.parse('2026-03-02T09:00:00Z');
    const now = () => new Date(clock);
    const outbound = createOutbound({ allow: ['127.0.0.1'] });
    await createSubscription(t.db, TEST_SECRET_KEY, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 5 }, target: { kind: 'url', url: `${receiver.url}/summary`, format: 'json' }, schedule: { weekday: 1, time: '08:00', timezone: 'UTC' }, now: new Date(clock - 8 * DAY) }, outbound);
    const rule = await createRule(t.db, TEST_SECRET_KEY, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'median' }, target: { kind: 'webhook', url: `${receiver.url}/alert` } }, outbound);
    // One notice queued, and the rule not due for evaluation (it would queue its own).
    await t.db.query("UPDATE alert_rules SET last_evaluated_at = '2100-01-01' WHERE id = $1", [rule.id]);
    await t.db.query(`INSERT INTO alert_notifications (id, rule_id, episode, kind, detail, status, next_attempt_at) VALUES ('n-1', $1, 1, 'firing', '{}'::jsonb, 'pending', $2)`, [rule.id, now().toISOString()]);
    const summaries = createScheduler(services, { ...QUEUE, now });
    const alerts = createAlertScheduler(services, { ...QUEUE, now });
    const round = async () => {
      await summaries.tick();
      await alerts.tick();
    };

    answer = { status: 429, headers: { 'retry-after': '7200' } };
    await round();
    let r = await rows();
    expect(receiver.find((c) => c.path === '/summary')).toHaveLength(1);
    expect(receiver.find((c) => c.path === '/alert')).toHaveLength(1);
    expect([r.summary.status, r.summary.attempts, r.summary.last_status]).toEqual(['retry', 1, 429]);
    expect([r.notice.status, r.notice.attempts, r.notice.last_status]).toEqual(['retry', 1, 429]);
    // Capped at the backoff maximum, not two hours; before issue 20 notices were not capped.
    expect(waitOf(r.summary, clock)).toBe(QUEUE.backoffMaxMs);
    expect(waitOf(r.notice, clock)).toBe(QUEUE.backoffMaxMs);

    clock += QUEUE.backoffMaxMs;
    answer = { status: 503 };
    await round();
    r = await rows();
    expect([r.summary.status, r.summary.attempts, r.summary.last_status]).toEqual(['retry', 2, 503]);
    expect([r.notice.status, r.notice.attempts, r.notice.last_status]).toEqual(['retry', 2, 503]);
    // Second attempt failed: base * 2, jittered into [half, whole).
    for (const row of [r.summary, r.notice]) {
      expect(waitOf(row, clock)).toBeGreaterThanOrEqual(QUEUE.backoffBaseMs);
      expect(waitOf(row, clock)).toBeLessThan(2 * QUEUE.backoffBaseMs);
    }

    clock += 2 * QUEUE.backoffBaseMs;
    await round();
    r = await rows();
    expect([r.summary.status, r.summary.attempts]).toEqual(['dead', QUEUE.maxAttempts]);
    expect([r.notice.status, r.notice.attempts]).toEqual(['dead', QUEUE.maxAttempts]);
    expect(receiver.find((c) => c.path === '/summary')).toHaveLength(3);
    expect(receiver.find((c) => c.path === '/alert')).toHaveLength(3);
    await summaries.stop();
    await alerts.stop();
    await outbound.close();
  });
});
