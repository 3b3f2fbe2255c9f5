/**
 * Per-recipient weekly summaries: how long a week's fan-out takes, from the grants to the queued
 * copies, and what one copy's send costs, on PGlite (the embedded single-process mode).
 *
 *   npx tsx bench/recipients.ts [--people 2000] [--members 5000] [--roles 20]
 *
 * The demo chain (45 stores, 4 regions) with `--people` Slack users each granted manager of
 * one store, and `--roles` Discord role grants (manager of a region each) whose members come
 * from a member list of `--members` members (an in-process list: the Discord REST paging is
 * the adapter's, tested against the fake API in test/subscriptions.recipients.test.ts). A chain
 * subscription `each manager` then fans out once: printed are the recipients, the time to
 * resolve them and to queue them (one INSERT), a second fan-out of the same week (queues no
 * one: the unique key), and the time to build and "send" (in-process, nothing posted) one
 * copy of a single store and one of a region.
 */
import { parseArgs } from 'node:util';
import { addGrant } from '../src/access/grants.ts';
import { migrate, openPglite } from '../src/db/client.ts';
import { generateDemoData } from '../src/data/demo.ts';
import { importRecords } from '../src/data/import.ts';
import type { PlatformPoster } from '../src/delivery/result.ts';
import { queueRecipients, type Claim } from '../src/delivery/summaries/deliveries.ts';
import { fanOut, resolveRecipients, sendToRecipient } from '../src/delivery/summaries/recipients.ts';
import { createSubscription, getSubscriptionRow } from '../src/delivery/summaries/subscriptions.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';

const { values } = parseArgs({ options: { people: { type: 'string', default: '2000' }, members: { type: 'string', default: '5000' }, roles: { type: 'string', default: '20' } } });
const people = Number(values.people);
const memberCount = Number(values.members);
const roleCount = Number(values.roles);
const GUILD = '1300000000000000001';

const db = await openPglite('memory://');
await migrate(db);
const demo = generateDemoData();
await importRecords(db, 'stores', 'bench:stores', [demo.stores]);
for (const r of demo.regions) await db.query('UPDATE stores SET region = $2, timezone = $3 WHERE store_id = $1', [r.storeId, r.region, r.timezone]);
await importRecords(db, 'train', 'bench:sales', demo.sales);
const regions = [...new Set(demo.regions.map((r) => r.region))];
for (let i = 0; i < people; i++) await addGrant(db, { principal: `slack:T1/U${String(i).padStart(6, '0')}`, role: 'manager', scope: { kind: 'store', store: (i % 45) + 1 } });
const roles = Array.from({ length: roleCount }, (_, i) => String(1500000000000000000n + BigInt(i)));
for (const [i, role] of roles.entries()) await addGrant(db, { principal: `discord-role:${GUILD}/${role}`, role: 'manager', scope: { kind: 'region', region: regions[i % regions.length]! } });
const members = Array.from({ length: memberCount }, (_, i) => ({ user: String(1400000000000000000n + BigInt(i)), roles: i % 10 === 0 ? [roles[i % roles.length]!] : [] }));

let sent = 0;
const poster = (): PlatformPoster => ({
  post: async () => (sent++, { ok: true, status: 200 }),
  update: async () => ({ ok: true, status: 200 }),
  threadReply: async () => ({ ok: true, status: 200 }),
  openDm: async (user) => ({ channel: `9${user}` }),
  members: async () => members,
  webhookBody: () => '',
});
const platforms = { slack: poster(), discord: poster() };
const deps = { db, access: { mode: 'restricted' as const, admins: [] }, forecaster: new SeasonalNaiveForecaster(), renderChart: async () => Buffer.alloc(0), platforms, now: () => new Date() };

const { subscription } = await createSubscription(db, undefined, { scope: { kind: 'chain' }, target: { kind: 'recipients', role: 'manager' }, schedule: { weekday: 1, time: '08:00', timezone: 'UTC' }, delivery: { mode: 'restricted', creator: { kind: 'operator' } } });
const row = (await getSubscriptionRow(db, subscription.id))!;
await db.query("INSERT INTO webhook_deliveries (id, subscription_id, week, status) VALUES ('fan', $1, '2030-01-07', 'in_progress')", [row.id]);
const [claim] = await db.query<Claim>("SELECT *, week::text AS week, 'x' AS lease_token FROM webhook_deliveries WHERE id = 'fan'");

const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;
let t = performance.now();
const found = await resolveRecipients(deps, { kind: 'chain' }, 'manager');
const resolveMs = ms(t);
if (!('recipients' in found)) throw new Error(found.error);
t = performance.now();
const queued = await queueRecipients(db, claim!, found.recipients, new Date());
const queueMs = ms(t);
t = performance.now();
const again = await fanOut(deps, claim!, row);
const againMs = ms(t);
console.log(`grants: ${people} Slack users (a store each) + ${roleCount} Discord role grants (a region each) over ${memberCount} server members`);
console.log(`recipients: ${found.recipients.length}; resolve ${resolveMs}; queue ${queued} copies in one INSERT ${queueMs}`);
console.log(`the same week's fan-out again: ${JSON.stringify('warning' in again ? again.warning : again)} in ${againMs}`);

const copies = await db.query<Claim>("SELECT *, week::text AS week, 'x' AS lease_token FROM webhook_deliveries WHERE subscription_id = $1 AND recipient <> '' ORDER BY recipient LIMIT 1", [row.id]);
const roleCopy = await db.query<Claim>("SELECT *, week::text AS week, 'x' AS lease_token FROM webhook_deliveries WHERE subscription_id = $1 AND recipient LIKE 'discord:%' LIMIT 1", [row.id]);
for (const [what, c] of [['a store manager', copies[0]], ['a region manager (Discord role)', roleCopy[0]]] as const) {
  t = performance.now();
  const result = await sendToRecipient(deps, c!, row);
  console.log(`one copy for ${what}: ${'ok' in result && result.ok ? 'sent' : JSON.stringify(result)} in ${ms(t)}`);
}
console.log(`posted in process: ${sent}`);
await db.close();
