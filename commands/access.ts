import { bindChannel, channelScope, listChannelBindings, unbindChannel, type ChannelBinding, type ChannelRef } from '../src/access/channels.ts';
import { consoleEntitled } from '../src/access/access.ts';
import { addGrant, listGrants, removeGrants, type Grant } from '../src/access/grants.ts';
import { endSessionsOf, endUnentitledSessions, isChatUser } from '../src/auth/console-sessions.ts';
import { describePrincipal, ROLES, type Role } from '../src/access/principal.ts';
import { AccessDenied } from '../src/chat/access.ts';
import { defineCommand, type CommandContext, type OptionDef, type OptionsOf } from '../src/chat/command.ts';
import { UserError } from '../src/chat/errors.ts';
import { commandLine } from '../src/chat/parse.ts';
import type { Fact, Reply } from '../src/chat/reply.ts';
import { describeScope, type AreaScope } from '../src/scope.ts';
import { FIELD_RANGES } from '../src/data/limits.ts';

const accessOptions = [
  { name: 'action', type: 'choice', choices: ['list', 'grant', 'revoke', 'channel', 'signout'], default: 'list', description: 'grant, revoke, list (who may see what), channel (who this channel is for) or signout (end their console sessions)' },
  { name: 'who', type: 'principal', description: 'A member or a role: @mention, or a key like slack:T1/U2' },
  { name: 'store', type: 'integer', ...FIELD_RANGES.store, positional: true, autocomplete: 'store', description: 'A store number' },
  { name: 'region', type: 'string', description: 'A region name, e.g. West' },
  { name: 'scope', type: 'choice', choices: ['chain', 'none'], description: 'chain: all stores; none: no audience (with channel)' },
  { name: 'role', type: 'choice', choices: ROLES, aliases: ['as'], description: 'What they may do: viewer (default), manager or admin' },
] as const satisfies readonly OptionDef[];

type AccessOptions = OptionsOf<typeof accessOptions>;

/** Facts shown in chat; the rest are in the CSV and `storecast access list`. */
const MAX_FACTS = 40;

/** The area the options name: a store, a region, the chain, `none` (a channel's audience removed), or nothing. */
function areaOf(options: AccessOptions): AreaScope | 'none' | undefined {
  const given = [options.store !== undefined, options.region !== undefined, options.scope !== undefined].filter(Boolean).length;
  if (given > 1) throw new UserError('Give one of: store N, region NAME, or chain (or none, for a channel).');
  if (options.store !== undefined) return { kind: 'store', store: options.store };
  if (options.region !== undefined) return { kind: 'region', region: options.region };
  if (options.scope === 'chain') return { kind: 'chain' };
  return options.scope;
}

function grantedArea(options: AccessOptions, what: string): AreaScope | undefined {
  const area = areaOf(options);
  if (area === 'none') throw new UserError(`none is for /access channel; ${what} names a store N, a region NAME or the chain.`);
  return area;
}

function mustSayWho(options: AccessOptions, example: string): string {
  if (options.who === undefined) throw new UserError(`Say who: mention a member or a role, e.g. "${example}".`);
  return options.who;
}

/** The admin's own area: what they may grant, revoke and see of others' access. */
async function administers(ctx: CommandContext, scope: AreaScope): Promise<boolean> {
  return ctx.access.covers('admin', scope);
}

/** Who did it, for created_by: the asker's own principal key, or the operator at the shell. */
function actor(ctx: CommandContext): string | undefined {
  return ctx.access.keys[0] ?? (ctx.platform === 'cli' ? 'cli' : undefined);
}

const areaArgs = (scope: AreaScope) =>
  scope.kind === 'store' ? { store: scope.store } : scope.kind === 'region' ? { region: scope.region } : { scope: 'chain' as const };

function reply(title: string, summary: string, data: Record<string, unknown>, extra: Partial<Reply> = {}): Reply {
  return { title, summary, facts: [], actions: [], visibility: 'ephemeral', context: {}, data, ...extra };
}

function grantLine(g: Grant): string {
  return `${g.role} of ${describeScope(g.scope)}`;
}

/** A chat channel the command was asked in, or a refusal saying where to run it. */
function here(ctx: CommandContext): ChannelRef {
  if ((ctx.platform !== 'slack' && ctx.platform !== 'discord') || !ctx.channel) {
    throw new UserError('Run /access channel in the channel itself. Outside chat: storecast access channel slack:TEAM/CHANNEL --store 5.', { code: 'NOT_A_CHANNEL' });
  }
  return { platform: ctx.platform, workspace: ctx.workspace, channel: ctx.channel };
}

export function describeChannel(where: Pick<ChannelRef, 'platform' | 'workspace' | 'channel'>): string {
  return `${where.platform === 'slack' ? 'Slack' : 'Discord'} channel ${where.channel}${where.workspace ? ` (${where.workspace})` : ''}`;
}

async function grant(options: AccessOptions, ctx: CommandContext): Promise<Reply> {
  const who = mustSayWho(options, '/access grant @bob store 5');
  const scope = grantedArea(options, 'a grant');
  if (!scope) throw new UserError('Say what they may see: store N, region NAME, or chain.');
  const role: Role = options.role ?? 'viewer';
  const before = await listGrants(ctx.db, [who]);
  const g = await addGrant(ctx.db, { principal: who, role, scope, createdBy: actor(ctx) });
  const had = before.some((b) => b.id === g.id);
  const all = had ? before : [...before, g];
  return reply(
    had ? `Already granted: ${grantLine(g)}` : `Granted: ${grantLine(g)}`,
    `${describePrincipal(who)} ${had ? 'already was' : 'is now'} ${grantLine(g)}.`,
    { grant: g },
    {
      facts: [
        { label: 'Who', value: describePrincipal(who) },
        { label: 'Grant', value: `${g.id}: ${grantLine(g)}` },
        { label: 'All their grants', value: all.map(grantLine).join(', ') },
      ],
      actions: [{ label: 'Undo', command: commandLine(accessCommand, { action: 'revoke', who, role, ...areaArgs(scope) }) }],
    },
  );
}

async function revoke(options: AccessOptions, ctx: CommandContext): Promise<Reply> {
  const who = mustSayWho(options, '/access revoke @bob store 5');
  const scope = grantedArea(options, 'a revoke');
  const theirs = await listGrants(ctx.db, [who]);
  const matching = theirs.filter((g) => (options.role === undefined || g.role === options.role) && (scope === undefined || describeScope(g.scope) === describeScope(scope)));
  // Without an area: what lies within the admin's own (the access check ran on no particular area).
  const mine: Grant[] = [];
  for (const g of matching) if (scope !== undefined || (await administers(ctx, g.scope))) mine.push(g);
  if (!mine.length) {
    const what = [options.role, scope && `of ${describeScope(scope)}`].filter(Boolean).join(' ');
    const has = theirs.length ? ` They have: ${theirs.map(grantLine).join(', ')}.` : ' They have no grants.';
    if (matching.length) throw new AccessDenied(`The grants of ${describePrincipal(who)} lie outside what you administer (you are ${ctx.access.describe()}).`);
    throw new UserError(`${describePrincipal(who)} has no grant${what ? ` ${what}` : ''}.${has}`, { code: 'NOT_FOUND' });
  }
  for (const g of mine) await removeGrants(ctx.db, who, { role: g.role, scope: g.scope });
  // Their console sessions end now if no access is left (a re-check would end them within minutes).
  await endUnentitledSessions(ctx.db, who, consoleEntitled(ctx.db, ctx.accessSettings ?? { mode: ctx.access.mode, admins: [] }));
  const left = theirs.filter((g) => !mine.some((m) => m.id === g.id));
  return reply(
    'Revoked',
    `${describePrincipal(who)} is no longer ${mine.map(grantLine).join(', ')}.${left.length ? ` Still: ${left.map(grantLine).join(', ')}.` : ' They have no grants left.'}`,
    { revoked: mine, left },
  );
}

/**
 * Ends every console session of a member. Within the asker's own area: an admin of every grant
 * they hold (any admin, for someone with no grants; the rest of their access is then nobody's).
 */
async function signout(options: AccessOptions, ctx: CommandContext): Promise<Reply> {
  const who = mustSayWho(options, '/access signout @bob');
  if (!isChatUser(who)) throw new UserError(`Console sessions belong to members: mention a person, not ${describePrincipal(who)}.`);
  for (const g of await listGrants(ctx.db, [who])) {
    if (!(await administers(ctx, g.scope))) throw new AccessDenied(`${describePrincipal(who)} is ${grantLine(g)}, which you do not administer (you are ${ctx.access.describe()}).`);
  }
  const ended = await endSessionsOf(ctx.db, who);
  return reply(
    'Signed out',
    ended ? `Ended ${ended} console session${ended === 1 ? '' : 's'} of ${describePrincipal(who)}: they sign in again with /console.` : `${describePrincipal(who)} had no console session.`,
    { principal: who, ended },
  );
}

async function list(options: AccessOptions, ctx: CommandContext): Promise<Reply> {
  const area = grantedArea(options, 'a list');
  const all = await listGrants(ctx.db, options.who === undefined ? undefined : [options.who]);
  // An admin of a store or region sees the grants within it, not the whole chain's.
  const grants: Grant[] = [];
  for (const g of all) if ((area === undefined || describeScope(g.scope) === describeScope(area)) && (await administers(ctx, g.scope))) grants.push(g);
  const inChat = ctx.platform === 'slack' || ctx.platform === 'discord';
  const bindings: ChannelBinding[] = [];
  if (options.who === undefined) {
    for (const b of await listChannelBindings(ctx.db)) {
      if (inChat && (b.platform !== ctx.platform || (b.workspace ?? '') !== (ctx.workspace ?? ''))) continue;
      if ((area === undefined || describeScope(b.scope) === describeScope(area)) && (await administers(ctx, b.scope))) bindings.push(b);
    }
  }
  const byPrincipal = new Map<string, Grant[]>();
  for (const g of grants) byPrincipal.set(g.principal, [...(byPrincipal.get(g.principal) ?? []), g]);
  const facts: Fact[] = [
    ...[...byPrincipal].map(([p, gs]) => ({ label: describePrincipal(p), value: gs.map((g) => `${grantLine(g)} (${g.id})`).join('\n') })),
    ...bindings.map((b) => ({ label: describeChannel(b), value: `audience: ${describeScope(b.scope)}` })),
  ];
  const shown = facts.slice(0, MAX_FACTS);
  const whose = options.who === undefined ? '' : ` of ${describePrincipal(options.who)}`;
  const counts = [
    `${grants.length} grant${grants.length === 1 ? '' : 's'}${whose} for ${byPrincipal.size} member${byPrincipal.size === 1 ? '' : 's'} or role${byPrincipal.size === 1 ? '' : 's'}`,
    ...(options.who === undefined ? [`${bindings.length} channel${bindings.length === 1 ? '' : 's'} with an audience${inChat ? ' here' : ''}`] : []),
  ].join('; ');
  const more = facts.length > shown.length ? ` The first ${shown.length} are shown; the CSV and \`storecast access list\` have all.` : '';
  return reply(`Access${whose}`, `${counts}.${grants.length || bindings.length ? '' : ' Grant some with /access grant @member store 5.'}${more}`, { grants, channels: bindings }, {
    facts: shown,
    context: { notes: [`You are ${ctx.access.describe()}`] },
    table: grants.length
      ? {
          columns: ['id', 'principal', 'who', 'role', 'scope', 'created_by', 'created_at'],
          rows: grants.map((g) => [g.id, g.principal, describePrincipal(g.principal), g.role, describeScope(g.scope), g.createdBy, g.createdAt]),
          filename: 'access-grants.csv',
        }
      : undefined,
  });
}

async function channel(options: AccessOptions, ctx: CommandContext): Promise<Reply> {
  if (options.who !== undefined || options.role !== undefined) throw new UserError('/access channel sets who this channel is for: store N, region NAME, chain, or none; no member or role.');
  const where = here(ctx);
  const area = areaOf(options);
  const current = await channelScope(ctx.db, where);
  if (area === undefined) {
    return reply(
      'This channel',
      current
        ? `This channel is for ${describeScope(current)}: answers about it are posted here; others go to the asker alone.`
        : 'This channel has no audience yet: answers here go to the asker alone. Set one with /access channel store 5 (or region NAME, chain).',
      { channel: where, scope: current ?? null },
    );
  }
  if (area === 'none') {
    if (!current) return reply('No audience', 'This channel had no audience; answers here go to the asker alone.', { channel: where, scope: null });
    if (!(await administers(ctx, current))) throw new AccessDenied(`This channel is for ${describeScope(current)}, which you do not administer (you are ${ctx.access.describe()}).`);
    await unbindChannel(ctx.db, where);
    return reply('No audience', `This channel is no longer for ${describeScope(current)}: answers here go to the asker alone.`, { channel: where, scope: null, was: current });
  }
  // Rebinding replaces the current audience: as removing it, that needs its admin too (the
  // access check covered only the new area).
  if (current && !(await administers(ctx, current))) {
    throw new AccessDenied(`This channel is for ${describeScope(current)}, which you do not administer (you are ${ctx.access.describe()}): an admin of ${describeScope(current)} can change its audience.`);
  }
  await bindChannel(ctx.db, { ...where, scope: area, createdBy: actor(ctx) });
  return reply(
    `This channel is for ${describeScope(area)}`,
    `Answers about ${describeScope(area)} are posted here${current ? ` (it was for ${describeScope(current)})` : ''}; answers about anything else go to the asker alone.`,
    { channel: where, scope: area, ...(current ? { was: current } : {}) },
    { actions: [{ label: 'Undo', command: current ? commandLine(accessCommand, { action: 'channel', ...areaArgs(current) }) : commandLine(accessCommand, { action: 'channel', scope: 'none' }) }] },
  );
}

const accessCommand = defineCommand({
  name: 'access',
  description: 'Who may see what: grant or revoke a member or role a store, region or the chain; set a channel\'s audience; sign someone out of the console.',
  options: accessOptions,
  examples: ['/access list', '/access grant @bob store 5', '/access grant @West-managers region West as manager', '/access revoke @bob store 5', '/access channel store 5', '/access channel none', '/access signout @bob'],
  access: 'admin',
  // Grants and audiences are the admin's business: Discord defers privately, nothing shows in the channel.
  answersPrivately: true,
  // A grant, revoke or binding of an area needs the admin role there. Without one (list, revoke
  // everything, channel none) any admin may run it, and the handler keeps to their own area.
  reach: (options) => {
    const area = areaOf(options);
    return area === 'none' ? undefined : area;
  },
  async handler(options, ctx): Promise<Reply> {
    switch (options.action) {
      case 'grant':
        return grant(options, ctx);
      case 'revoke':
        return revoke(options, ctx);
      case 'channel':
        return channel(options, ctx);
      case 'list':
        return list(options, ctx);
      case 'signout':
        return signout(options, ctx);
    }
  },
});

export default accessCommand;
