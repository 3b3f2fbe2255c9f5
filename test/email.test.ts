import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertScheduler } from '../src/alerts/scheduler.ts';
import { evaluateAfterImport } from '../src/alerts/hooks.ts';
import { createRule } from '../src/alerts/rules.ts';
import { UserError } from '../src/chat/errors.ts';
import { checkAddress } from '../src/email/address.ts';
import { CHART_CID, replyToEmail } from '../src/email/render.ts';
import { createMailer } from '../src/email/transport.ts';
import { createOutbound } from '../src/net/outbound.ts';
import type { Services } from '../src/services.ts';
import { createScheduler } from '../src/delivery/summaries/scheduler.ts';
import { createSubscription } from '../src/delivery/summaries/subscriptions.ts';
import { ingestJson } from '../src/data/ingest.ts';
import { FakeHttpServer } from './fakes/http.ts';
import { createTestDatabase, type TestDatabase, importDemoStores } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';
import { OPERATOR_DELIVERY } from './helpers/delivery.ts';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
/** A region name with markup in it: whatever storecast puts in the HTML part must be escaped. */
const REGION = 'North <East> & "Co"';

let t: TestDatabase;
let smtp: SMTPServer;
let smtpUrl: string;
const received: ParsedMail[] = [];
const sendgrid = new FakeHttpServer(() => ({ status: 202, body: '' }));
let weekly: Map<number, number>;

const counts = (dept7: number, asOf: string) => [...weekly].map(([dept, avg]) => ({ store: 5, dept, date: asOf, onHand: Math.round(avg * (dept === 7 ? dept7 : 30)), leadTimeWeeks: 1 }));

/** Makes the region's stock alert fire (dept 7 short) through the ingest hook. */
async function fire(services: Services, asOf: string) {
  await evaluateAfterImport(services, await ingestJson(t.db, counts(30, `${asOf.slice(0, 8)}01`), 'test', 'stock'));
  await evaluateAfterImport(services, await ingestJson(t.db, counts(0.2, asOf), 'test', 'stock'));
}

beforeAll(async () => {
  t = await createTestDatabase('pglite');
  await importDemoStores(t.db, [5]);
  await t.db.query('UPDATE stores SET region = $1 WHERE store_id = 5', [REGION]);
  const rows = await t.db.query<{ dept_id: number; avg: number }>("SELECT dept_id, avg(sales)::float8 AS avg FROM weekly_sales WHERE store_id = 5 AND week > '2012-08-31' GROUP BY dept_id");
  weekly = new Map(rows.map((r) => [r.dept_id, Math.max(100, r.avg)]));
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('bounce@')) return callback(Object.assign(new Error('no such user'), { responseCode: 550 }));
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream, { keepCidLinks: true }).then((mail) => {
        received.push(mail);
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
  await sendgrid.listen();
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  await sendgrid.close();
  await t?.cleanup();
});

describe('email addresses', () => {
  it('takes one plain address (also as Slack sends it) and refuses lists, header breaks and near misses', () => {
    expect(checkAddress('Ops@Example.com')).toBe('ops@example.com');
    expect(checkAddress('<mailto:ops@example.com|ops@example.com>')).toBe('ops@example.com');
    for (const bad of ['ops@example', 'a@b.com,c@d.com', 'ops@example.com\r\nBcc: x@y.com', 'ops example.com', '"ops"@example.com']) expect(() => checkAddress(bad)).toThrow(UserError);
  });
});

describe('the email renderer', () => {
  it('escapes every text in the HTML part and keeps the subject on one line', () => {
    const m = replyToEmail(
      { title: 'Store <5>\r\nBcc: x@y.com', summary: '<script>alert(1)</script> & more', facts: [{ label: 'a<b', value: '"c"' }], actions: [{ label: 'Snooze', command: '/alert snooze alr_1 for day' }], visibility: 'channel', context: {}, data: {}, table: { columns: ['x<y'], rows: [['<td>']], filename: 't.csv' } },
      { why: 'why <this>', stop: 'stop & go' },
    );
    expect(m.subject).toBe('Store <5> Bcc: x@y.com');
    expect(m.html).not.toMatch(/<script>|<5>|<td><td>|a<b/);
    expect(m.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
    expect(m.html).toContain('why &lt;this&gt;');
    expect(m.text).toContain('stop & go');
    expect(m.attachments.map((a) => a.filename)).toEqual(['t.csv']);
  });
});

describe('email delivery', () => {
  it('an email alert arrives at a real SMTP receiver: HTML and text parts, the chart inline by cid, the CSV, the footer', async () => {
    const services = testServices(t.db, { SMTP_URL: smtpUrl, EMAIL_FROM: 'storecast <alerts@storecast.test>' });
    const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'region', region: REGION }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'email', address: 'ops@example.com' } }, createOutbound());
    await fire(services, '2012-10-27');
    const scheduler = createAlertScheduler(services);
    await scheduler.tick();
    await scheduler.stop();
    expect(received).toHaveLength(1);
    const mail = received[0]!;
    expect(mail.from?.text).toContain('alerts@storecast.test');
    expect((mail.to as { text: string }).text).toBe('ops@example.com');
    expect(mail.subject).toBe(`Alert: ${REGION} region · stock cover below 2 weeks at p90 demand`);
    expect(mail.html).toContain('North &lt;East&gt; &amp; &quot;Co&quot;');
    expect(mail.html).not.toContain('<East>');
    expect(mail.html).toContain(`cid:${CHART_CID}`);
    expect(mail.text).toContain('Store 5 · Dept 7');
    expect(mail.text).toContain(`To stop it: /alert delete ${rule.id}`);
    const chart = mail.attachments.find((a) => a.contentType === 'image/png')!;
    expect(chart.cid).toBe(CHART_CID);
    expect(chart.content.subarray(0, 4).equals(PNG_MAGIC)).toBe(true);
    const csv = mail.attachments.find((a) => a.filename === 'stock-alert.csv')!;
    expect(csv.content.toString()).toMatch(/^store,dept,cover_weeks/);
    await t.db.query('UPDATE alert_rules SET deleted_at = now()');
  });

  it('a refused recipient (SMTP 550) is dead at once; with no transport configured, nothing is sent and the log says why', async () => {
    const noMail = testServices(t.db);
    for (const [address, services, expected] of [
      ['bounce@example.com', testServices(t.db, { SMTP_URL: smtpUrl }), 'SMTP 550'],
      ['ops@example.com', noMail, 'No email transport is configured: set SMTP_URL'],
    ] as const) {
      const rule = await createRule(t.db, undefined, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'store', store: 5 }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'email', address } }, createOutbound());
      await fire(services, '2012-10-28');
      const scheduler = createAlertScheduler(services);
      await scheduler.tick();
      await scheduler.stop();
      const [log] = await t.db.query<{ status: string; last_error: string }>('SELECT status, last_error FROM alert_notifications WHERE rule_id = $1', [rule.id]);
      expect(log).toMatchObject({ status: 'dead' });
      expect(log!.last_error).toContain(expected);
      await t.db.query('UPDATE alert_rules SET deleted_at = now()');
    }
    expect(received).toHaveLength(1);
  });

  it('an SMTP server slower than the timeout: the send fails and the cut-off server delivers nothing (never a failure that arrived)', async () => {
    // A receiver that accepts a message only if the client is still there to hear its 250.
    const closed = new Set<string>();
    const delivered: string[] = [];
    const slow = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onClose: (session) => void closed.add(session.id),
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () =>
          setTimeout(() => {
            if (!closed.has(session.id)) delivered.push(session.id);
            callback();
          }, 1500),
        );
      },
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const mailer = createMailer({ email: { smtpUrl: `smtp://127.0.0.1:${(slow.server.address() as AddressInfo).port}`, sendgridApiUrl: sendgrid.url, from: 'alerts@storecast.test' } }, createOutbound())!;
    try {
      const message = replyToEmail({ title: 'Slow', summary: 'x', facts: [], actions: [], visibility: 'channel', context: {}, data: {} }, { why: 'why', stop: 'stop' });
      const result = await mailer.send('ops@example.com', message, { id: 'slow-1', timeoutMs: 400 });
      await new Promise((r) => setTimeout(r, 1800));
      expect(result).toMatchObject({ ok: false, error: 'SMTP: ETIMEDOUT' });
      expect(delivered).toEqual([]);
    } finally {
      mailer.close();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });

  it('a weekly summary by email goes through the fake SendGrid v3 API, retried after a 5xx, dead after a 4xx', async () => {
    const services = testServices(t.db, { SENDGRID_API_KEY: 'SG.test-key', SENDGRID_API_URL: sendgrid.url, STORECAST_OUTBOUND_ALLOW: '127.0.0.1', EMAIL_FROM: 'storecast <summaries@storecast.test>' });
    const created = new Date('2026-01-05T07:00:00Z');
    const { subscription } = await createSubscription(t.db, undefined, { delivery: OPERATOR_DELIVERY, scope: { kind: 'store', store: 5 }, target: { kind: 'email', address: 'Boss@Example.com' }, schedule: { weekday: 1, time: '08:00', timezone: 'UTC' }, createdBy: 'cli', now: created });
    sendgrid.fail((c) => c.path === '/v3/mail/send', { status: 503, headers: { 'retry-after': '0' } });
    let clock = new Date('2026-01-05T08:01:00Z');
    const scheduler = createScheduler(services, { now: () => clock, backoffBaseMs: 1000 });
    await scheduler.tick();
    clock = new Date(clock.getTime() + 60_000);
    await scheduler.tick();
    const calls = sendgrid.find((c) => c.path === '/v3/mail/send');
    expect(calls).toHaveLength(2);
    const body = calls[1]!.body as { personalizations: { to: { email: string }[] }[]; from: { email: string; name: string }; subject: string; content: { type: string; value: string }[]; attachments: { type: string; content_id?: string; disposition: string; content: string; filename: string }[] };
    expect(calls[1]!.headers.authorization).toBe('Bearer SG.test-key');
    expect(body.personalizations[0]!.to).toEqual([{ email: 'boss@example.com' }]);
    expect(body.from).toEqual({ email: 'summaries@storecast.test', name: 'storecast' });
    expect(body.content.map((c) => c.type)).toEqual(['text/plain', 'text/html']);
    expect(body.content[1]!.value).toContain(`cid:${CHART_CID}`);
    expect(body.content[0]!.value).toContain(`/unsubscribe id ${subscription.id}`);
    const png = body.attachments.find((a) => a.type === 'image/png')!;
    expect(png).toMatchObject({ content_id: CHART_CID, disposition: 'inline' });
    expect(Buffer.from(png.content, 'base64').subarray(0, 4).equals(PNG_MAGIC)).toBe(true);
    const [delivered] = await t.db.query<{ status: string; attempts: number }>('SELECT status, attempts FROM webhook_deliveries WHERE subscription_id = $1', [subscription.id]);
    expect(delivered).toEqual({ status: 'succeeded', attempts: 2 });

    // A refusal by the API (bad sender, bad key) does not heal: dead, once.
    sendgrid.fail((c) => c.path === '/v3/mail/send', { status: 400 });
    clock = new Date('2026-01-12T08:01:00Z');
    await scheduler.tick();
    await scheduler.stop();
    const [next] = await t.db.query<{ status: string; last_error: string }>("SELECT status, last_error FROM webhook_deliveries WHERE subscription_id = $1 AND week = '2026-01-12'", [subscription.id]);
    expect(next).toEqual({ status: 'dead', last_error: 'SendGrid HTTP 400' });
  });
});
