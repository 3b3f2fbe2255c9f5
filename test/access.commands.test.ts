import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../commands/index.ts';
import { channelScope } from '../src/access/channels.ts';
import { listGrants } from '../src/access/grants.ts';
import { principalFromText } from '../src/access/principal.ts';
import { buildDiscordCommands } from '../src/adapters/discord/commands.ts';
import { ApplicationCommandOptionType, ApplicationCommandType, type APIChatInputApplicationCommandInteractionData } from '../src/adapters/discord/djs.ts';
import { commandInput } from '../src/adapters/discord/interactions.ts';
import { createToken } from '../src/auth/tokens.ts';
import type { CommandInput, DispatchOutcome } from '../src/chat/dispatch.ts';
import { parseText } from '../src/chat/parse.ts';
import type { Database } from '../src/db/client.ts';
import { createApp } from '../src/server/app.ts';
import type { Asker, Services } from '../src/services.ts';
import { createTestDatabase, openTestDatabase, type TestDatabase } from './helpers/db.ts';
import { runStorecast } from './helpers/cli.ts';
import { testServices } from './helpers/services.ts';

const GUILD = '100';
const ENV = { STORECAST_ACCESS: 'restricted', STORECAST_ADMINS: `slack:T1/U1,discord:${GUILD}/1` };

const slack = (user: string, channel = 'C1'): Asker => ({ platform: 'slack', workspace: 'T1', channel, user, roles: [] });
const discord = (user: string, roles: string[] = [], channel = 'D1'): Asker => ({ platform: 'discord', workspace: GUILD, channel, user, roles });

describe('/access: grants, revokes and channel audiences through the one command flow', () => {
  let db: Database;
  let services: Services;
  let regionOf: Map<number, string>;

  const run = (asker: Asker, line: string | CommandInput): Promise<DispatchOutcome> => {
    if (typeof line !== 'string') return services.run(line, asker);
    const [name, ...rest] = line.replace(/^\//, '').split(' ');
    return services.run({ name: name!, text: rest.join(' ') }, asker);
  };
  const ok = async (asker: Asker, line: string | CommandInput) => {
    const outcome = await run(asker, line);
    expect(outcome.kind, `${JSON.stringify(line)}: ${outcome.reply.summary}`).toBe('ok');
    return outcome.reply;
  };
  const kind = async (asker: Asker, line: string | CommandInput) => (await run(asker, line)).kind;

  beforeAll(async () => {
    db = await openTestDatabase([5, 6, 7]);
    services = testServices(db, ENV);
    regionOf = new Map([
      [5, 'South'],
      [6, 'West'],
      [7, 'West'],
    ]);
    for (const [store, region] of regionOf) await db.query('UPDATE stores SET region = $2 WHERE store_id = $1', [store, region]);
  });
  afterAll(() => db.close());

  it('a bootstrap admin grants a Slack mention store 5: they see store 5, not store 6', async () => {
    expect(await kind(slack('U2'), '/forecast store 5')).toBe('denied');
    const reply = await ok(slack('U1'), '/access grant <@U2|bob> store 5');
    expect(reply.visibility).toBe('ephemeral');
    expect(reply.data.grant).toMatchObject({ principal: 'slack:T1/U2', role: 'viewer', scope: { kind: 'store', store: 5 }, createdBy: 'slack:T1/U1' });
    expect(reply.summary).toBe('Slack user U2 (T1) is now viewer of Store 5.');
    expect(reply.actions[0]!.command).toBe('/access action revoke who slack:T1/U2 store 5 role viewer');

    expect(await kind(slack('U2'), '/forecast store 5')).toBe('ok');
    const six = await run(slack('U2'), '/forecast store 6');
    expect(six.kind).toBe('denied');
    expect(six.reply.summary).toMatch(/cannot see Store 6.*viewer of Store 5/);
    // Granting again changes nothing and says so.
    expect((await ok(slack('U1'), '/access grant <@U2> store 5')).title).toBe('Already granted: viewer of Store 5');
  });

  it('a viewer (or manager) cannot run /access', async () => {
    for (const line of ['/access', '/access list', '/access grant <@U3> store 5', '/access channel store 5']) {
      const outcome = await run(slack('U2'), line);
      expect(outcome.kind, line).toBe('denied');
    }
    expect(await kind(slack('U9'), '/access list')).toBe('denied');
  });

  it('a Discord role grant applies to every member with that role, and only to them', async () => {
    const region = regionOf.get(6)!;
    // As Discord sends it: a mentionable option; the resolved data says it is a role.
    const data = {
      id: '1',
      name: 'access',
      type: ApplicationCommandType.ChatInput,
      options: [
        { name: 'action', type: ApplicationCommandOptionType.String, value: 'grant' },
        { name: 'who', type: ApplicationCommandOptionType.Mentionable, value: '900' },
        { name: 'region', type: ApplicationCommandOptionType.String, value: region },
        { name: 'role', type: ApplicationCommandOptionType.String, value: 'manager' },
      ],
      resolved: { roles: { '900': { id: '900', name: 'regional-managers' } } },
    } as unknown as APIChatInputApplicationCommandInteractionData;
    const input = commandInput(services.registry, data);
    expect(input.options).toMatchObject({ who: '<@&900>' });
    const reply = await ok(discord('1'), input);
    expect(reply.data.grant).toMatchObject({ principal: `discord-role:${GUILD}/900`, role: 'manager', scope: { kind: 'region', region } });

    expect(await kind(discord('42', ['900']), '/forecast store 6')).toBe('ok');
    expect(await kind(discord('43', ['901']), '/forecast store 6')).toBe('denied');
    expect(await kind(discord('42', ['900'], 'D2'), { name: 'forecast', options: { store: 6 } })).toBe('ok');

    // A member option (no role in the resolved data) is a user.
    const member = commandInput(services.registry, { ...data, options: [data.options![1]!], resolved: { users: { '900': { id: '900' } } } } as never);
    expect(member.options).toEqual({ who: '<@900>' });
  });

  it('revoke removes the grant (one area, or all within the admin\u2019s own)', async () => {
    await ok(slack('U1'), '/access grant <@U3> store 6');
    await ok(slack('U1'), '/access grant <@U3> store 5 as manager');
    expect(await kind(slack('U3'), '/forecast store 6')).toBe('ok');
    const one = await ok(slack('U1'), '/access revoke <@U3> store 6');
    expect(one.summary).toBe('Slack user U3 (T1) is no longer viewer of Store 6. Still: manager of Store 5.');
    expect(await kind(slack('U3'), '/forecast store 6')).toBe('denied');
    await ok(slack('U1'), '/access revoke <@U3>');
    expect(await listGrants(db, ['slack:T1/U3'])).toEqual([]);
    expect(await kind(slack('U3'), '/forecast store 5')).toBe('denied');
    const none = await run(slack('U1'), '/access revoke <@U3> store 5');
    expect(none.kind).toBe('user-error');
    expect(none.reply.summary).toMatch(/has no grant of Store 5\. They have no grants/);
  });

  it('an admin of one store manages that store only, and lists only its grants', async () => {
    await ok(slack('U1'), '/access grant <@U4> store 5 as admin');
    await ok(slack('U4'), '/access grant <@U5> store 5');
    expect(await kind(slack('U4'), '/access grant <@U5> store 6')).toBe('denied');
    expect(await kind(slack('U4'), '/access channel chain')).toBe('denied');
    const listed = await ok(slack('U4'), '/access list');
    const scopes = (listed.data.grants as { scope: { kind: string; store?: number } }[]).map((g) => g.scope);
    expect(scopes.length).toBeGreaterThan(0);
    for (const s of scopes) expect(s).toEqual({ kind: 'store', store: 5 });
  });

  it('/access channel binds the channel it is run in; none unbinds; list shows grants and channels', async () => {
    const where = { platform: 'slack', workspace: 'T1', channel: 'C-stores' } as const;
    expect(await channelScope(db, where)).toBeUndefined();
    const bound = await ok(slack('U1', 'C-stores'), '/access channel store 5');
    expect(bound.title).toBe('This channel is for Store 5');
    expect(await channelScope(db, where)).toEqual({ kind: 'store', store: 5 });
    expect((await ok(slack('U1', 'C-stores'), '/access channel')).summary).toMatch(/^This channel is for Store 5/);

    const list = await ok(slack('U1'), '/access list');
    expect(list.visibility).toBe('ephemeral');
    expect(list.facts).toContainEqual({ label: 'Slack user U2 (T1)', value: expect.stringMatching(/^viewer of Store 5 \(grant_[0-9a-f]+\)$/) });
    expect(list.facts).toContainEqual({ label: `Discord role 900 (${GUILD})`, value: expect.stringContaining(`manager of ${regionOf.get(6)} region`) });
    expect(list.facts).toContainEqual({ label: 'Slack channel C-stores (T1)', value: 'audience: Store 5' });
    const bob = await ok(slack('U1'), '/access list <@U2>');
    expect((bob.data.grants as { principal: string }[]).map((g) => g.principal)).toEqual(['slack:T1/U2']);

    await ok(slack('U1', 'C-stores'), '/access channel none');
    expect(await channelScope(db, where)).toBeUndefined();
    // Outside a channel there is nothing to bind.
    expect((await run({ platform: 'cli', roles: [] }, '/access channel store 5')).reply.summary).toMatch(/Run \/access channel in the channel itself/);
  });

  it('mentions name users and roles of the asker\u2019s own workspace; keys work anywhere', () => {
    const command = services.registry.get('access')!;
    expect(parseText(command, 'grant <@U2|bob smith> store 5', { platform: 'slack', workspace: 'T1' })).toMatchObject({ action: 'grant', who: 'slack:T1/U2', store: 5 });
    expect(parseText(command, 'grant who=<@U2> region West as manager', { platform: 'slack', workspace: 'T1' })).toMatchObject({ who: 'slack:T1/U2', region: 'West', role: 'manager' });
    expect(parseText(command, 'revoke discord-role:100/900', { platform: 'cli' })).toMatchObject({ action: 'revoke', who: 'discord-role:100/900' });
    expect(principalFromText('<@!55>', { platform: 'discord', workspace: GUILD })).toBe(`discord:${GUILD}/55`);
    expect(principalFromText('<@&9>', { platform: 'discord', workspace: GUILD })).toBe(`discord-role:${GUILD}/9`);
    expect(() => principalFromText('<@&9>', { platform: 'slack', workspace: 'T1' })).toThrow(/not a Slack user mention/);
    expect(() => principalFromText('@bob', { platform: 'slack', workspace: 'T1' })).toThrow(/plain text/);
    expect(() => principalFromText('<!subteam^S1|@ops>', { platform: 'slack', workspace: 'T1' })).toThrow(/user group/);
    expect(() => principalFromText('<@U2>', { platform: 'cli' })).toThrow(/not a chat/);
    expect(() => principalFromText('<@2>', { platform: 'discord' })).toThrow(/server channel/);
  });

  it('a bad mention is answered before anything runs, with usage', async () => {
    const outcome = await run(slack('U1'), '/access grant @bob store 5');
    expect(outcome.kind).toBe('user-error');
    expect(outcome.reply.summary).toMatch(/^who: "@bob" arrived as plain text/);
    expect(outcome.reply.facts).toContainEqual({ label: 'Usage', value: expect.stringContaining('[who @USER|@ROLE]') });
  });
});

describe('/access in Discord registration', () => {
  it('carries a MENTIONABLE option and default_member_permissions for admin commands only', () => {
    const commands = buildDiscordCommands(createRegistry());
    const access = commands.find((c) => c.name === 'access')!;
    expect(access.options).toContainEqual(expect.objectContaining({ name: 'who', type: ApplicationCommandOptionType.Mentionable }));
    expect(access.options).toContainEqual(expect.objectContaining({ name: 'action', type: ApplicationCommandOptionType.String, required: false }));
    expect(access.default_member_permissions).toBe('0');
    expect(commands.find((c) => c.name === 'forecast')!.default_member_permissions).toBeUndefined();
  });
});

describe('GET/POST /api/v1/access/grants, DELETE /api/v1/access/grants/{id}', () => {
  let t: TestDatabase;
  let app: ReturnType<typeof createApp>['app'];
  let admin: string;
  let query: string;

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    app = createApp(testServices(t.db, ENV)).app;
    admin = (await createToken(t.db, { name: 'admin', scopes: ['admin'] })).token;
    query = (await createToken(t.db, { name: 'query', scopes: ['query'] })).token;
  });
  afterAll(() => t.cleanup());

  const call = (method: string, path: string, token: string, body?: unknown) =>
    app.request(`/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('grants, lists and revokes with an admin token; refuses a query token and bad principals', async () => {
    const created = await call('POST', '/access/grants', admin, { principal: 'slack:T1/U2', store: 5 });
    expect(created.status).toBe(201);
    const grant = (await created.json()) as { id: string; createdBy: string };
    expect(grant).toMatchObject({ principal: 'slack:T1/U2', who: 'Slack user U2 (T1)', role: 'viewer', scope: { kind: 'store', store: 5 } });
    expect(grant.createdBy).toMatch(/^token:/);
    expect((await call('POST', '/access/grants', admin, { principal: `discord-role:${GUILD}/900`, region: 'West', role: 'manager' })).status).toBe(201);

    const listed = (await (await call('GET', '/access/grants?principal=slack:T1/U2', admin)).json()) as { grants: { id: string }[] };
    expect(listed.grants.map((g) => g.id)).toEqual([grant.id]);
    expect(((await (await call('GET', '/access/grants', admin)).json()) as { grants: unknown[] }).grants).toHaveLength(2);

    const bad = await call('POST', '/access/grants', admin, { principal: '<@U2>', store: 5 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/principal: write slack:TEAM\/USER/);
    expect((await call('POST', '/access/grants', admin, { principal: 'slack:T1/U2', store: 5, chain: true })).status).toBe(400);
    expect((await call('POST', '/access/grants', query, { principal: 'slack:T1/U2', store: 5 })).status).toBe(403);
    expect((await call('GET', '/access/grants', query)).status).toBe(403);

    expect((await call('DELETE', `/access/grants/${grant.id}`, admin)).status).toBe(204);
    expect((await call('DELETE', `/access/grants/${grant.id}`, admin)).status).toBe(404);
    expect(await listGrants(t.db, ['slack:T1/U2'])).toEqual([]);
  });
});

describe('storecast access (CLI, on Postgres)', () => {
  let t: TestDatabase;

  const storecast = (...args: string[]) => runStorecast(['access', ...args], { DATABASE_URL: t.url! });


  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(() => t.cleanup());

  it('grant, list, channel and revoke', async () => {
    const granted = await storecast('grant', 'slack:T1/U2', '--store', '5', '--role', 'manager');
    expect(granted.code).toBe(0);
    expect(granted.stdout).toMatch(/^grant_[0-9a-f]+ {2}Slack user U2 \(T1\) is manager of Store 5\.\n$/);
    expect(await listGrants(t.db, ['slack:T1/U2'])).toMatchObject([{ role: 'manager', scope: { kind: 'store', store: 5 }, createdBy: 'cli' }]);

    const bound = await storecast('channel', 'discord:100/C7', '--region', 'West');
    expect(bound.stdout).toBe('discord:100/C7 is for West region.\n');
    expect(await channelScope(t.db, { platform: 'discord', workspace: '100', channel: 'C7' })).toEqual({ kind: 'region', region: 'West' });

    const listed = JSON.parse((await storecast('list', '--json')).stdout) as { grants: { principal: string }[]; channels: { channel: string }[] };
    expect(listed.grants.map((g) => g.principal)).toEqual(['slack:T1/U2']);
    expect(listed.channels.map((c) => c.channel)).toEqual(['C7']);

    const bad = await storecast('grant', '<@U2>', '--store', '5');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not a principal/);

    expect((await storecast('revoke', 'slack:T1/U2')).stdout).toBe('Revoked 1 grant of Slack user U2 (T1).\n');
    expect((await storecast('channel', 'discord:100/C7', '--none')).stdout).toBe('discord:100/C7 has no audience now.\n');
    expect(await channelScope(t.db, { platform: 'discord', workspace: '100', channel: 'C7' })).toBeUndefined();
  });
});
