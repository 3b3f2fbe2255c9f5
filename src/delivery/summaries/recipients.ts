import { resolveAccess, type AccessSettings } from '../../access/access.ts';
import { listGrants } from '../../access/grants.ts';
import { describePrincipal, identityOfKey, roleRank } from '../../access/principal.ts';
import { UserError } from '../../chat/errors.ts';
import type { Reply } from '../../chat/reply.ts';
import type { Database } from '../../db/client.ts';
import type { Forecaster } from '../../forecast/forecaster.ts';
import { describeScope, type AreaScope } from '../../scope.ts';
import type { Attempt } from '../queue.ts';
import type { SendOptions, SendResult } from '../send.ts';
import { queueRecipients, type Claim } from './deliveries.ts';
import { stopMyCopyLine } from './chat.ts';
import { optOutKey, optedOut, rowScope, type RecipientRole, type SubscriptionRow } from './subscriptions.ts';
import { buildWeeklySummary, type SummaryScope } from './summary.ts';

/**
 * Per-recipient weekly summaries ("/subscribe weekly-summary region West each manager"): at each
 * run the week's row fans out, from the grants as they are then, into one delivery per person
 * holding the role on a store of the scope (a Discord role grant: each member of the role, from
 * the server's member list); each copy is then a delivery of its own on the one queue (claimed,
 * leased, retried alone) and sends that person, by direct message, the summary of their stores
 * of the scope only, as access resolves them at send time.
 */
export interface RecipientDeps {
  db: Database;
  access: AccessSettings;
  forecaster: Forecaster;
  renderChart: (spec: Record<string, unknown>) => Promise<Buffer>;
  platforms: SendOptions['platforms'];
  now: () => Date;
}

export interface Recipient {
  /** A user's principal key: `slack:T/U`, `discord:G/U`. */
  key: string;
  /** A Discord member's role ids (their role grants count when their copy is sent). */
  roles: string[];
}

/** The stores a subscription's scope holds (`regions`: store -> region, read from the stores table now). */
function storesOf(scope: AreaScope, regions: ReadonlyMap<number, string>): number[] {
  if (scope.kind === 'store') return [scope.store];
  const all = [...regions.keys()].sort((a, b) => a - b);
  return scope.kind === 'chain' ? all : all.filter((s) => regions.get(s) === scope.region.toLowerCase());
}

async function storeRegions(db: Database): Promise<Map<number, string>> {
  const rows = await db.query<{ store_id: number; region: string | null }>('SELECT store_id, region FROM stores');
  return new Map(rows.map((r) => [r.store_id, (r.region ?? '').toLowerCase()]));
}

/** Principal keys granted `role` (or more) on any of `stores`. */
async function grantHolders(db: Database, stores: readonly number[], role: RecipientRole, regions: ReadonlyMap<number, string>): Promise<string[]> {
  const inScope = new Set(stores);
  const keys = new Set<string>();
  for (const g of await listGrants(db)) {
    if (roleRank(g.role) < roleRank(role)) continue;
    const a = g.scope;
    const touches = a.kind === 'chain' ? inScope.size > 0 : a.kind === 'store' ? inScope.has(a.store) : stores.some((s) => regions.get(s) === a.region.toLowerCase());
    if (touches) keys.add(g.principal);
  }
  return [...keys].sort();
}

/** A Discord server's members by user id (with their roles), or why they could not be read. */
type Members = Map<string, string[]> | (SendResult & { ok: false });

/**
 * The people behind grant holders: users as they are (a Discord member with the roles they
 * have now), each member of a granted Discord role, no API tokens (no one to message). A
 * server whose members cannot be listed for good (no Server Members intent) leaves its role
 * grants unexpanded, said in `warnings`; a passing failure is returned, to retry the run.
 */
export async function resolveRecipients(deps: Pick<RecipientDeps, 'db' | 'platforms'>, scope: AreaScope, role: RecipientRole): Promise<{ recipients: Recipient[]; warnings: string[] } | (SendResult & { ok: false })> {
  const regions = await storeRegions(deps.db);
  const holders = await grantHolders(deps.db, storesOf(scope, regions), role, regions);
  const guilds = new Map<string, Members>();
  for (const key of holders) {
    const guild = /^discord(?:-role)?:([^/]+)\//.exec(key)?.[1];
    if (guild && !guilds.has(guild)) {
      const listed = (await deps.platforms.discord.members?.(guild)) ?? { ok: false, status: null, error: 'no Discord member list', permanent: true };
      if (!Array.isArray(listed) && !listed.permanent) return listed;
      guilds.set(guild, Array.isArray(listed) ? new Map(listed.map((m) => [m.user, m.roles])) : listed);
    }
  }
  const out = new Map<string, Recipient>();
  const warnings: string[] = [];
  for (const key of holders) {
    const m = /^(slack|discord|discord-role):([^/]*)\/(.+)$/.exec(key);
    if (!m) continue;
    const members = guilds.get(m[2]!);
    const listed = members instanceof Map ? members : undefined;
    if (m[1] === 'slack') {
      out.set(key, { key, roles: [] });
    } else if (m[1] === 'discord') {
      out.set(key, { key, roles: listed?.get(m[3]!) ?? [] });
    } else if (listed) {
      for (const [user, roles] of listed) if (roles.includes(m[3]!)) out.set(`discord:${m[2]}/${user}`, { key: `discord:${m[2]}/${user}`, roles });
    } else {
      warnings.push(`${describePrincipal(key)} not expanded: ${(members as SendResult & { ok: false }).error}`);
    }
  }
  return { recipients: [...out.values()], warnings: [...new Set(warnings)] };
}

/** The week's fan-out: one queued delivery per recipient who has not stopped their copy. */
export async function fanOut(deps: RecipientDeps, claim: Claim, row: SubscriptionRow): Promise<Attempt> {
  const found = await resolveRecipients(deps, rowScope(row), row.recipients ?? 'manager');
  if (!('recipients' in found)) return found;
  const stopped = await optedOut(deps.db, row.id);
  const to = found.recipients.filter((r) => !stopped.has(optOutKey(r.key)));
  const queued = await queueRecipients(deps.db, claim, to, deps.now());
  const note = `${to.length} recipient${to.length === 1 ? '' : 's'} (${queued} queued now, ${found.recipients.length - to.length} stopped their copy)`;
  return { ok: true, status: 200, warning: [note, ...found.warnings].join('; ').slice(0, 1000) };
}

/** The stores of the subscription's scope `who` holds the role on now, as a summary's scope. */
async function recipientScope(deps: RecipientDeps, row: SubscriptionRow, recipient: Recipient): Promise<SummaryScope | undefined> {
  const who = identityOfKey(recipient.key);
  if (!who) return undefined;
  const access = await resolveAccess(deps.db, deps.access, { ...who, roles: recipient.roles });
  const scope = rowScope(row);
  const all = storesOf(scope, await storeRegions(deps.db));
  const held = await access.stores(row.recipients ?? 'manager');
  const mine = held === 'all' ? all : all.filter((s) => held.has(s));
  if (!mine.length) return undefined;
  if (mine.length === all.length) return scope;
  return mine.length === 1 ? { kind: 'store', store: mine[0]! } : { kind: 'stores', stores: mine, asked: scope };
}

/** The summary as one recipient's: why they get it, and a button that stops their copy alone. */
function personal(reply: Reply, row: SubscriptionRow, recipient: Recipient): Reply {
  const why = `You get this as ${row.recipients ?? 'manager'} of these stores: ${describePrincipal(row.created_by ?? 'an admin')} sends the weekly summary of ${describeScope(rowScope(row))} to each ${row.recipients ?? 'manager'}, each with their own stores.`;
  return {
    ...reply,
    actions: [...reply.actions, { label: 'Stop my copy', command: stopMyCopyLine(row.id) }],
    context: { ...reply.context, notes: [...(reply.context.notes ?? []), why] },
    data: { ...reply.data, subscription: row.id, recipient: recipient.key },
  };
}

/** One recipient's copy: their stores' summary by direct message, or held when they no longer hold any. */
export async function sendToRecipient(deps: RecipientDeps, claim: Claim, row: SubscriptionRow): Promise<Attempt> {
  const recipient = { key: claim.recipient, roles: claim.recipient_roles ?? [] };
  if ((await optedOut(deps.db, row.id)).has(optOutKey(recipient.key))) return { held: `stopped by ${describePrincipal(recipient.key)}` };
  const scope = await recipientScope(deps, row, recipient);
  if (!scope) return { held: `${describePrincipal(recipient.key)} no longer holds the ${row.recipients} role for a store of ${describeScope(rowScope(row))}` };
  let reply: Reply;
  try {
    reply = personal(await buildWeeklySummary(deps.db, deps.forecaster, scope), row, recipient);
  } catch (err) {
    return { ok: false, status: null, error: err instanceof UserError ? `summary: ${err.message}` : `summary failed: ${(err as Error).message}` };
  }
  const png = reply.chart ? await deps.renderChart(reply.chart.spec).catch(() => undefined) : undefined;
  const [, platform, user] = /^(slack|discord):[^/]*\/(.+)$/.exec(recipient.key) ?? [];
  if (platform === 'slack') return deps.platforms.slack.post(user!, reply, png);
  if (platform !== 'discord') return { ok: false, status: null, error: `no direct messages to ${recipient.key}`, permanent: true };
  const dm = await deps.platforms.discord.openDm(user!);
  return 'channel' in dm ? deps.platforms.discord.post(dm.channel, reply, png) : dm;
}
