import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRules } from '../src/alerts/evaluate.ts';
import { createRule, getRuleRow } from '../src/alerts/rules.ts';
import { createAlertScheduler } from '../src/alerts/scheduler.ts';
import type { Mailer } from '../src/email/transport.ts';
import type { Forecaster } from '../src/forecast/forecaster.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { createOutbound } from '../src/net/outbound.ts';
import type { Services } from '../src/services.ts';
import { DB_KINDS, type TestDatabase } from './helpers/db.ts';
import { demoServices } from './helpers/services.ts';
import { invalidateDemand } from '../src/stock/demand.ts';
import { ingestJson } from '../src/data/ingest.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

/** A mail transport that records what it was asked to send (the SMTP path has its own suite). */
function recordingMailer(): Mailer & { sent: string[] } {
  const sent: string[] = [];
  return { name: 'smtp', sent, send: async (to) => (sent.push(to), { ok: true, status: 250 }), close: () => {} };
}

/** Seasonal naive scaled by `factor` (10: last week's sales look far under the forecast), or failing as a broken forecaster does. */
function forecasterThat(mode: { factor: number } | 'fails'): Forecaster {
  const inner = new SeasonalNaiveForecaster();
  return {
    name: 'test',
    async forecast(db, key, horizon, options) {
      if (mode === 'fails') throw new Error('connection reset while reading the series');
      const r = await inner.forecast(db, key, horizon, options);
      return { ...r, points: r.points.map((p) => ({ week: p.week, value: p.value * mode.factor, lower: p.lower * mode.factor, upper: p.upper * mode.factor })) };
    },
  };
}

describe.each(DB_KINDS)('alert notices and evaluations that fail (%s)', (kind) => {
  let t: TestDatabase;
  let services: Services;

  beforeAll(async () => void ({ t, services } = await demoServices(kind, [5])), 120_000);
  afterAll(() => t?.cleanup());

  it('a notice whose every attempt ended with its worker gone is buried, not claimed again forever (as weekly summaries)', async () => {
    const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'email', address: 'ops@example.com' } }, createOutbound());
    const now = new Date('2026-01-05T08:00:00Z');
    // Claimed for the third time by a worker that died (its lease ran out): a notice that kills its worker.
    await t.db.query(
      `INSERT INTO alert_notifications (id, rule_id, episode, kind, detail, status, attempts, lease_token, lease_until, next_attempt_at)
       VALUES ('n-exhausted', $1, 1, 'firing', '{}'::jsonb, 'in_progress', 3, 'gone', $2, $2)`,
      [rule.id, new Date(now.getTime() - 60_000).toISOString()],
    );
    const mailer = recordingMailer();
    const scheduler = createAlertScheduler(services, { now: () => now, maxAttempts: 3, mailer });
    await scheduler.tick();
    await scheduler.stop();
    const [row] = await t.db.query<{ status: string; attempts: number; last_error: string; lease_token: string | null }>("SELECT status, attempts, last_error, lease_token FROM alert_notifications WHERE id = 'n-exhausted'");
    expect(row).toEqual({ status: 'dead', attempts: 3, last_error: 'worker stopped during the last attempt', lease_token: null });
    expect(mailer.sent).toEqual([]);
    await t.db.query('UPDATE alert_rules SET deleted_at = now() WHERE id = $1', [rule.id]);
  });

  it('a forecaster error leaves a firing episode as it is (logged and counted), so it neither resolves nor fires again', async () => {
    const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'sales', scope: { kind: 'store', store: 5 }, condition: { type: 'below-forecast' }, target: { kind: 'email', address: 'ops@example.com' } }, createOutbound());
    const evaluate = async (forecaster: Forecaster) => evaluateRules({ db: t.db, forecaster, logger: services.logger, metrics: services.metrics }, [(await getRuleRow(t.db, rule.id))!]);
    const state = async () => (await t.db.query<{ state: string; episode: number }>('SELECT state, episode FROM alert_rules WHERE id = $1', [rule.id]))[0];

    expect((await evaluate(forecasterThat({ factor: 10 }))).fired).toEqual([rule.id]);
    expect(await state()).toEqual({ state: 'firing', episode: 1 });

    const failed = await evaluate(forecasterThat('fails'));
    expect(failed).toMatchObject({ evaluated: 0, failed: [rule.id], fired: [], resolved: [] });
    expect(await state()).toEqual({ state: 'firing', episode: 1 });
    expect((await services.metrics.registry.getSingleMetric('storecast_errors_total')!.get()).values).toContainEqual(expect.objectContaining({ labels: { kind: 'alert-evaluation' }, value: 1 }));

    expect((await evaluate(forecasterThat({ factor: 10 }))).fired).toEqual([]);
    expect(await state()).toEqual({ state: 'firing', episode: 1 });
    const notices = await t.db.query<{ episode: number; kind: string }>('SELECT episode, kind FROM alert_notifications WHERE rule_id = $1', [rule.id]);
    expect(notices).toEqual([{ episode: 1, kind: 'firing' }]);
    await t.db.query('UPDATE alert_rules SET deleted_at = now() WHERE id = $1', [rule.id]);
  });

  it('a stock rule whose demand forecasts fail keeps its episode too (the failure is not cached as "no sales")', async () => {
    await ingestJson(t.db, [{ store: 5, dept: 7, date: '2012-10-26', onHand: 100, leadTimeWeeks: 1 }], 'test', 'stock');
    const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'email', address: 'ops@example.com' } }, createOutbound());
    const evaluate = async (forecaster: Forecaster) => evaluateRules({ db: t.db, forecaster, logger: services.logger }, [(await getRuleRow(t.db, rule.id))!]);
    expect((await evaluate(forecasterThat({ factor: 1 }))).fired).toEqual([rule.id]);
    await invalidateDemand(t.db, [5]);
    expect(await evaluate(forecasterThat('fails'))).toMatchObject({ failed: [rule.id], resolved: [] });
    expect(await evaluate(forecasterThat({ factor: 1 }))).toMatchObject({ failed: [], fired: [], resolved: [] });
    const [row] = await t.db.query<{ state: string; episode: number }>('SELECT state, episode FROM alert_rules WHERE id = $1', [rule.id]);
    expect(row).toEqual({ state: 'firing', episode: 1 });
    await t.db.query('UPDATE alert_rules SET deleted_at = now() WHERE id = $1', [rule.id]);
  });
});
