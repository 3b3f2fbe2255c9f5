import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postToResponseUrl } from '../src/adapters/slack/response-url.ts';
import { createMailer } from '../src/email/transport.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { isPermanentHttpFailure, parseRetryAfter } from '../src/util/retry.ts';
import { send, type Outgoing } from '../src/delivery/send.ts';
import { FakeHttpServer } from './fakes/http.ts';
import { deliveryPlatforms } from '../src/adapters/platforms.ts';

const fake = new FakeHttpServer(() => ({ status: 200, body: {} }));
const outbound = createOutbound({ allow: ['127.0.0.1'] });

beforeAll(async () => {
  await fake.listen();
});
afterAll(async () => {
  await fake.close();
  await outbound.close();
});

describe('parseRetryAfter (the one Retry-After parser)', () => {
  const now = Date.parse('2026-03-02T10:00:00Z');
  it('reads delta-seconds, fractions included', () => {
    expect(parseRetryAfter('7', { now })).toBe(7000);
    expect(parseRetryAfter(' 1.5 ', { now })).toBe(1500);
    expect(parseRetryAfter('0', { now })).toBe(0);
  });
  it('reads an HTTP date as the time left until it, never negative', () => {
    expect(parseRetryAfter('Mon, 02 Mar 2026 10:00:30 GMT', { now })).toBe(30_000);
    expect(parseRetryAfter('Mon, 02 Mar 2026 09:00:00 GMT', { now })).toBe(0);
  });
  it('caps both forms at the given maximum', () => {
    expect(parseRetryAfter('3600', { now, maxMs: 30_000 })).toBe(30_000);
    expect(parseRetryAfter('Mon, 02 Mar 2026 11:00:00 GMT', { now, maxMs: 30_000 })).toBe(30_000);
    expect(parseRetryAfter('5', { now, maxMs: 30_000 })).toBe(5000);
  });
  it('gives undefined for a missing or unreadable header, so the caller backs off', () => {
    for (const v of [undefined, null, '', 'soon', '-5']) expect(parseRetryAfter(v, { now })).toBeUndefined();
  });
});

describe('one list of permanent failures', () => {
  const outgoing: Outgoing = {
    deliveryId: 'd-1',
    subscriptionId: 's-1',
    period: '2026-03-02',
    targetKind: 'generic',
    reply: { title: 'Weekly summary', summary: 'ok' } as Outgoing['reply'],
  };
  // The statuses each sender could meet; the expectation is the policy written in src/util/retry.ts.
  const cases: [number, boolean][] = [
    [400, true], [401, true], [403, true], [404, true], [409, false], [410, true], [422, true],
    [408, false], [425, false], [429, false], [500, false], [502, false], [503, false],
  ];

  it.each(cases)('a webhook and an email (SendGrid) target treat HTTP %i alike (permanent: %s)', async (status, permanent) => {
    const mailer = createMailer({ email: { sendgridApiKey: 'SG.k', sendgridApiUrl: fake.url, from: 'a@storecast.test' } }, outbound)!;
    const header = { 'retry-after': '2' };
    fake.fail((c) => c.path === '/hook', { status, headers: header });
    fake.fail((c) => c.path === '/v3/mail/send', { status, headers: header });
    const hook = await send({ ...outgoing, url: `${fake.url}/hook` }, { outbound, timeoutMs: 5000, platforms: deliveryPlatforms({ slack: {}, discord: {} } as never)(5000) });
    const mail = await mailer.send('x@storecast.test', { subject: 's', text: 't', html: '<p>t</p>', attachments: [] }, { id: 'd-1', timeoutMs: 5000 });
    expect(hook.ok).toBe(false);
    expect(mail.ok).toBe(false);
    const pick = (r: typeof hook) => (r.ok ? undefined : { status: r.status, permanent: !!r.permanent, retryAfterMs: r.retryAfterMs });
    expect(pick(hook)).toEqual({ status, permanent, retryAfterMs: 2000 });
    expect(pick(mail)).toEqual(pick(hook));
    expect(isPermanentHttpFailure(status)).toBe(permanent);
  });
});

describe('Slack response_url honours the same parser and list', () => {
  const policy = { attempts: 2, baseDelayMs: 0, maxDelayMs: 10_000 };
  it('waits out a Retry-After given as an HTTP date', async () => {
    fake.reset();
    fake.fail((c) => c.path === '/respond-date', { status: 429, headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() } });
    await postToResponseUrl(`${fake.url}/respond-date`, { text: 'hi' }, policy);
    const calls = fake.find((c) => c.path === '/respond-date');
    expect(calls).toHaveLength(2);
    // The date has whole seconds: 1-2 s ahead; the old seconds-only parser waited baseDelayMs (0).
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(900);
  });
  it('caps a long Retry-After at the policy maximum', async () => {
    fake.reset();
    fake.fail((c) => c.path === '/respond-long', { status: 429, headers: { 'retry-after': '3600' } });
    const started = Date.now();
    await postToResponseUrl(`${fake.url}/respond-long`, { text: 'hi' }, { attempts: 2, baseDelayMs: 0, maxDelayMs: 100 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(fake.find((c) => c.path === '/respond-long')).toHaveLength(2);
  });
  it('retries a 409 and stops at once on a 404, like the other senders', async () => {
    fake.reset();
    fake.fail((c) => c.path === '/respond-409', { status: 409 });
    await postToResponseUrl(`${fake.url}/respond-409`, { text: 'hi' }, policy);
    expect(fake.find((c) => c.path === '/respond-409')).toHaveLength(2);
    fake.fail((c) => c.path === '/respond-404', { status: 404 });
    await expect(postToResponseUrl(`${fake.url}/respond-404`, { text: 'hi' }, policy)).rejects.toThrow(/404/);
    expect(fake.find((c) => c.path === '/respond-404')).toHaveLength(1);
  });
});
