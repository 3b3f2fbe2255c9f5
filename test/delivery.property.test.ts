import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAccess } from '../src/access/access.ts';
import { bindChannel, unbindChannel } from '../src/access/channels.ts';
import { addGrant, removeGrants } from '../src/access/grants.ts';
import { createAlertScheduler } from '../src/alerts/scheduler.ts';
import type { Services } from '../src/services.ts';
import type { AreaScope } from '../src/scope.ts';
import { createScheduler } from '../src/delivery/index.ts';
import { FakeSlack } from './fakes/slack-api.ts';
import { createTestDatabase, importDemoStores, type TestDatabase } from './helpers/db.ts';
import { testServices } from './helpers/services.ts';

/**
 * Nothing that leaves on its own (a weekly summary, an alert notice, their emails, CSV
 * attachments and chart PNGs) shows a store outside what its creator may see AND what its
 * target may see: a channel its audience, a direct message or an address the creator's choice.
 * Random grants, channel audiences, subscriptions and alerts made through the chat commands, a
 * random change of grants or audiences afterwards, then the real schedulers deliver (Slack
 * through its SDK to the fake Slack API; email through SendGrid's API to a local receiver).
 */
const WEEK = 7 * 86_400_000;
const ME = 'UP';
const PRINCIPAL = `slack:T1/${ME}`;
const STORES = [1, 2, 3, 5, 6, 7];
/** The demo's regions of these stores (region = REGIONS[id % 4]). */
const REGIONS: Record<string, number[]> = { South: [1, 5], Midwest: [2, 6], West: [3, 7] };
const CHANNELS = ['CA', 'CB'] as const;

/** Every store number a delivered thing shows: "Store N" in text, store/store_id fields, a CSV's store column. */
function storesIn(value: unknown, key = ''): number[] {
  if (Array.isArray(value)) return value.flatMap((v) => storesIn(v, key));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => storesIn(v, k));
  if (typeof value === 'number' && /^(store|store_id|storeId)$/i.test(key)) return [value];
  if (typeof value === 'string') return [...value.matchAll(/\bStores? (\d+)\b/g)].map((m) => Number(m[1]));
  return [];
}

function csvStores(csv: string): number[] {
  const [header, ...rows] = csv.trim().split(/\r?\n/);
  const col = (header ?? '').split(',').indexOf('store');
  return [...storesIn(csv), ...(col < 0 ? [] : rows.map((r) => Number(r.split(',')[col])))];
}

const storesOf = (scope: AreaScope): number[] => (scope.kind === 'store' ? [scope.store] : scope.kind === 'region' ? REGIONS[scope.region]! : STORES);
const words = (scope: AreaScope) => (scope.kind === 'store' ? `store ${scope.store}` : scope.kind === 'region' ? `region ${scope.region}` : 'chain');

const areaArb: fc.Arbitrary<AreaScope> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...STORES).map((store): AreaScope => ({ kind: 'store', store })) },
  { weight: 2, arbitrary: fc.constantFrom(...Object.keys(REGIONS)).map((region): AreaScope => ({ kind: 'region', region })) },
  { weight: 1, arbitrary: fc.constant<AreaScope>({ kind: 'chain' }) },
);
const grantArb = fc.record({ role: fc.constantFrom('manager' as const, 'admin' as const), scope: areaArb });
const channelArb = fc.constantFrom(...CHANNELS);
/** What an action is about: often one of the creator's own grants (else the access check refuses most). */
const aboutArb = fc.oneof({ weight: 2, arbitrary: fc.nat(2) }, { weight: 1, arbitrary: areaArb });
const actionArb = fc.oneof(
  fc.record({ kind: fc.constant('subscribe' as const), channel: channelArb, about: aboutArb, email: fc.boolean() }),
  fc.record({ kind: fc.constant('alert' as const), channel: channelArb, about: aboutArb, to: fc.constantFrom('channel', 'me', 'ops@example.com'), condition: fc.constantFrom('drop 1% vs last year', 'below forecast 1%') }),
);
/** After creation: a grant taken away, a channel rebound or unbound, or nothing. */
const changeArb = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('revoke' as const), index: fc.nat(3) }),
  fc.record({ kind: fc.constant('rebind' as const), channel: channelArb, scope: fc.option(areaArb, { nil: undefined }) }),
);

describe('nothing delivered shows a store outside both the creator’s grants and the target’s audience (restricted)', () => {
  let t: TestDatabase;
  let services: Services;
  const slack = new FakeSlack();
  const mails: { to: string; body: Record<string, unknown> }[] = [];
  const mailer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const json = JSON.parse(body) as { personalizations: { to: { email: string }[] }[] };
      mails.push({ to: json.personalizations[0]!.to[0]!.email, body: json as unknown as Record<string, unknown> });
      res.writeHead(202).end();
    });
  });
  /** Every chart rendered, by the number its PNG carries: a delivered PNG maps back to its spec. */
  const specs: unknown[] = [];
  const png = (i: number) => Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(`#${i}#`)]);
  const specOf = (data: Buffer | undefined) => specs[Number(/#(\d+)#/.exec(data?.toString('latin1') ?? '')?.[1] ?? -1)];

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    await importDemoStores(t.db, STORES);
    await slack.listen();
    await new Promise<void>((r) => mailer.listen(0, '127.0.0.1', r));
    services = testServices(t.db, {
      STORECAST_ACCESS: 'restricted',
      SLACK_BOT_TOKEN: 'xoxb-property',
      SLACK_API_URL: slack.apiUrl,
      SENDGRID_API_KEY: 'SG.property',
      SENDGRID_API_URL: `http://127.0.0.1:${(mailer.address() as AddressInfo).port}`,
      STORECAST_OUTBOUND_ALLOW: '127.0.0.1',
    });
    services = { ...services, renderChart: async (spec: unknown) => png(specs.push(spec) - 1) } as Services;
  }, 120_000);
  afterAll(async () => {
    mailer.close();
    await slack.close();
    await t?.cleanup();
  });

  it('holds for random grants, audiences, subscriptions, alerts and later changes', async () => {
    let delivered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(grantArb, { maxLength: 3 }), fc.tuple(fc.option(areaArb, { nil: undefined }), fc.option(areaArb, { nil: undefined })), fc.array(actionArb, { minLength: 1, maxLength: 3 }), changeArb, async (grants, bindings, actions, change) => {
        await t.db.exec('DELETE FROM webhook_deliveries; DELETE FROM webhook_subscriptions; DELETE FROM alert_notifications; DELETE FROM alert_rules; DELETE FROM access_grants; DELETE FROM channel_scopes;');
        slack.calls.length = 0;
        mails.length = 0;
        for (const g of grants) await addGrant(t.db, { principal: PRINCIPAL, ...g });
        for (const [i, scope] of bindings.entries()) if (scope) await bindChannel(t.db, { platform: 'slack', workspace: 'T1', channel: CHANNELS[i]!, scope });
        for (const a of actions) {
          const scope = typeof a.about === 'number' ? (grants[a.about % Math.max(1, grants.length)]?.scope ?? { kind: 'store', store: 5 }) : a.about;
          const asker = { platform: 'slack' as const, workspace: 'T1', channel: a.channel, user: ME, roles: [] };
          const text = a.kind === 'subscribe' ? `weekly-summary ${words(scope)}${a.email ? ' email ops@example.com' : ''}` : `sales ${words(scope)} ${a.condition} to ${a.to}`;
          await services.run({ name: a.kind, text }, asker);
        }
        if (change.kind === 'revoke' && grants[change.index]) await removeGrants(t.db, PRINCIPAL, grants[change.index]);
        if (change.kind === 'rebind') {
          const where = { platform: 'slack' as const, workspace: 'T1', channel: change.channel };
          if (change.scope) await bindChannel(t.db, { ...where, scope: change.scope });
          else await unbindChannel(t.db, where);
        }

        const later = () => new Date(Date.now() + WEEK + 60_000);
        await createScheduler(services, { now: later, batchSize: 50 }).tick();
        const alerts = createAlertScheduler(services, { now: later, batchSize: 50 });
        await alerts.tick();
        await alerts.stop();

        // What each target may be shown now: the creator's grants, and a channel's audience.
        const mine = await (await resolveAccess(t.db, services.config.access, { platform: 'slack', workspace: 'T1', user: ME, roles: [] })).stores('viewer');
        const creatorSees = (s: number) => mine === 'all' || mine.has(s);
        const audience = new Map<string, number[]>();
        for (const r of await t.db.query<{ channel: string; scope_kind: string; scope_value: string }>('SELECT channel, scope_kind, scope_value FROM channel_scopes')) {
          audience.set(r.channel, storesOf(r.scope_kind === 'store' ? { kind: 'store', store: Number(r.scope_value) } : r.scope_kind === 'region' ? { kind: 'region', region: r.scope_value } : { kind: 'chain' }));
        }
        // A direct message and an email reach the creator's choice: only their grants bound them.
        const targetSees = (target: string, s: number) => target === ME || target === 'email' || (audience.get(target) ?? []).includes(s);
        const check = (target: string, what: string, shown: number[]) => {
          delivered++;
          for (const s of shown) expect(creatorSees(s) && targetSees(target, s), `${what} to ${target} shows store ${s}: ${JSON.stringify({ grants, bindings, actions, change })}`).toBe(true);
        };
        for (const post of slack.method('chat.postMessage')) check(String(post.body.channel), 'a Slack message', storesIn({ text: post.body.text, blocks: post.body.blocks, attachments: post.body.attachments }));
        for (const done of slack.method('files.completeUploadExternal')) {
          for (const f of (done.body.files as { id: string }[] | undefined) ?? []) check(String(done.body.channel_id), 'a chart uploaded to Slack', storesIn(specOf(slack.uploads.get(f.id)?.data)));
        }
        for (const mail of mails) {
          const body = mail.body as { subject: string; content: { value: string }[]; attachments?: { filename: string; content: string }[] };
          check('email', 'an email', storesIn({ subject: body.subject, content: body.content }));
          for (const a of body.attachments ?? []) {
            const data = Buffer.from(a.content, 'base64');
            check('email', `the email attachment ${a.filename}`, a.filename.endsWith('.csv') ? csvStores(data.toString('utf8')) : storesIn(specOf(data)));
          }
        }
      }),
      { numRuns: 80 },
    );
    // The property was tested on deliveries, not on silence.
    expect(delivered).toBeGreaterThan(20);
  }, 600_000);
});
