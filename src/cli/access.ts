import { Command, Option } from 'commander';
import { bindChannel, channelScope, listChannelBindings, unbindChannel, type ChannelRef } from '../access/channels.ts';
import { addGrant, listGrants, removeGrants, type Grant } from '../access/grants.ts';
import { describePrincipal, parsePrincipal, ROLES, type Role } from '../access/principal.ts';
import { consoleEntitled } from '../access/access.ts';
import { recordAudit } from '../audit/log.ts';
import { endSessionsOf, endUnentitledSessions } from '../auth/console-sessions.ts';
import { UserError } from '../chat/errors.ts';
import { FIELD_RANGES } from '../data/limits.ts';
import { describeScope, type AreaScope } from '../scope.ts';
import { callOperatorApi, type OperatorEndpoint } from '../server/operator.ts';
import { EXIT_USAGE, withCli, type CliContext } from './context.ts';

interface AreaFlags {
  store?: string;
  region?: string;
  chain?: boolean;
}

/** --store N | --region NAME | --chain: at most one; `required` says whether one must be given. */
function areaFrom(opts: AreaFlags, required: boolean): AreaScope | undefined {
  const given = [opts.store !== undefined, opts.region !== undefined, opts.chain === true].filter(Boolean).length;
  if (given > 1 || (required && given === 0)) throw new UserError(`Give ${required ? 'exactly' : 'at most'} one of --store N, --region NAME, --chain.`);
  if (opts.store !== undefined) {
    const store = Number(opts.store);
    const { min, max } = FIELD_RANGES.store;
    if (!(/^\d+$/.test(String(opts.store)) && store >= min && store <= max)) throw new UserError(`--store must be a store number (${min}-${max.toLocaleString('en-US')}).`);
    return { kind: 'store', store };
  }
  if (opts.region !== undefined) {
    if (!opts.region.trim()) throw new UserError('--region needs a name, e.g. West.');
    return { kind: 'region', region: opts.region.trim() };
  }
  return opts.chain ? { kind: 'chain' } : undefined;
}

function principalArg(text: string): string {
  try {
    return parsePrincipal(text);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

/** `slack:TEAM/CHANNEL` or `discord:GUILD/CHANNEL`, the same shape as principal keys. */
function channelArg(text: string): ChannelRef {
  const m = /^(slack|discord):([A-Za-z0-9_-]*)\/([A-Za-z0-9_-]+)$/.exec(text.trim());
  if (!m) throw new UserError(`"${text.trim().slice(0, 80)}" is not a channel: write slack:TEAM/CHANNEL or discord:GUILD/CHANNEL.`);
  return { platform: m[1] as ChannelRef['platform'], workspace: m[2]!, channel: m[3]! };
}

const channelName = (c: ChannelRef) => `${c.platform}:${c.workspace ?? ''}/${c.channel}`;

/** A refusal is one line on stderr and exit 2; anything else is the CLI's to report. */
async function userErrorsAsExit(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = EXIT_USAGE;
  }
}

/**
 * Runs one subcommand on the database, or, while `storecast serve` holds the embedded one,
 * through that server's admin API (`viaServer`), so a grant is never written beside it and lost.
 */
async function run(work: (ctx: CliContext) => Promise<void>, viaServer?: (endpoint: OperatorEndpoint) => Promise<void>): Promise<void> {
  const throughServer = viaServer
    ? (endpoint: OperatorEndpoint) =>
        userErrorsAsExit(async () => {
          try {
            await viaServer(endpoint);
          } catch (err) {
            throw err instanceof UserError ? err : new UserError(`the running server refused: ${(err as Error).message}`);
          }
        })
    : undefined;
  await withCli((ctx) => userErrorsAsExit(() => work(ctx)), throughServer ? { viaServer: throughServer } : {});
}

type ApiGrant = Grant & { who: string };

/** The area flags as the grants API takes them. */
const areaBody = (scope: AreaScope | undefined) => (scope === undefined ? {} : scope.kind === 'store' ? { store: scope.store } : scope.kind === 'region' ? { region: scope.region } : { chain: true });

const areaOptions = (cmd: Command, what: string) =>
  cmd.option('--store <n>', `${what} a store`).option('--region <name>', `${what} a region`).option('--chain', `${what} all stores`);

/**
 * `storecast access grant|revoke|list|channel|signout`: who may see what, from the server's shell (the
 * operator is an admin of the chain). Principals are keys: slack:TEAM/USER, discord:GUILD/USER,
 * discord-role:GUILD/ROLE, token:ID. Wire with program.addCommand(accessCommand()).
 */
function printGrant(grant: Grant, json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(grant)}\n`);
  else process.stdout.write(`${grant.id}  ${describePrincipal(grant.principal)} is ${grant.role} of ${describeScope(grant.scope)}.\n`);
}

function printSignedOut(who: string, ended: number): void {
  process.stdout.write(ended ? `Ended ${ended} console session${ended === 1 ? '' : 's'} of ${describePrincipal(who)}.\n` : `${describePrincipal(who)} had no console session.\n`);
}

function printRevoked(who: string, removed: number): void {
  if (!removed) throw new UserError(`${describePrincipal(who)} has no such grant. See \`storecast access list ${who}\`.`);
  process.stdout.write(`Revoked ${removed} grant${removed === 1 ? '' : 's'} of ${describePrincipal(who)}.\n`);
}

/** Revoke while `serve` holds the embedded database: the matching grants, one DELETE each. */
async function revokeThroughServer(endpoint: OperatorEndpoint, who: string, role: Role | undefined, scope: AreaScope | undefined): Promise<void> {
  const { grants } = await callOperatorApi<{ grants: ApiGrant[] }>(endpoint, 'GET', `/access/grants?principal=${encodeURIComponent(who)}`);
  const doomed = grants.filter((g) => (!role || g.role === role) && (!scope || describeScope(g.scope) === describeScope(scope)));
  for (const g of doomed) await callOperatorApi(endpoint, 'DELETE', `/access/grants/${encodeURIComponent(g.id)}`);
  printRevoked(who, doomed.length);
}

async function listThroughServer(endpoint: OperatorEndpoint, who: string | undefined, json: boolean | undefined): Promise<void> {
  const { grants } = await callOperatorApi<{ grants: ApiGrant[] }>(endpoint, 'GET', `/access/grants${who ? `?principal=${encodeURIComponent(who)}` : ''}`);
  if (json) return void process.stdout.write(`${JSON.stringify({ grants })}\n`);
  const lines = grants.map((g) => `${g.id}  ${g.principal.padEnd(28)} ${g.role.padEnd(8)} ${describeScope(g.scope).padEnd(20)} ${g.who}`);
  process.stdout.write(`${(lines.length ? lines : ['No grants.']).join('\n')}\n(through the running server; stop it to see channel audiences and settings here)\n`);
}

export function accessCommand(): Command {
  const access = new Command('access').description('Who may see what: grants (principal x role x store, region or chain) and channel audiences.');

  areaOptions(access.command('grant').description('Grant a principal a role on a store, a region or the chain.').argument('<principal>', 'slack:TEAM/USER, discord:GUILD/USER, discord-role:GUILD/ROLE or token:ID'), 'on')
    .addOption(new Option('--role <role>', 'what they may do').choices([...ROLES]).default('viewer'))
    .option('--json', 'print JSON')
    .action(async (principal: string, opts: AreaFlags & { role: Role; json?: boolean }) => {
      await run(async ({ db }) => {
        const who = principalArg(principal);
        const scope = areaFrom(opts, true)!;
        printGrant(await addGrant(db, { principal: who, role: opts.role, scope, createdBy: 'cli' }), opts.json);
      }, async (endpoint) => {
        const who = principalArg(principal);
        const body = { principal: who, role: opts.role, ...areaBody(areaFrom(opts, true)) };
        printGrant(await callOperatorApi<ApiGrant>(endpoint, 'POST', '/access/grants', body), opts.json);
      });
    });

  areaOptions(access.command('revoke').description("Revoke a principal's grants: all of them, or one area's (and role's).").argument('<principal>'), 'of')
    .addOption(new Option('--role <role>', 'only this role').choices([...ROLES]))
    .action(async (principal: string, opts: AreaFlags & { role?: Role }) => {
      await run(async ({ db, config }) => {
        const who = principalArg(principal);
        const scope = areaFrom(opts, false);
        printRevoked(who, await removeGrants(db, who, { role: opts.role, scope }));
        const ended = await endUnentitledSessions(db, who, consoleEntitled(db, config.access));
        if (ended) process.stdout.write(`Ended ${ended} console session${ended === 1 ? '' : 's'}: no access is left.\n`);
      }, (endpoint) => revokeThroughServer(endpoint, principalArg(principal), opts.role, areaFrom(opts, false)));
    });

  access
    .command('signout')
    .description('End every web console session of a principal (they sign in again with /console).')
    .argument('<principal>', 'slack:TEAM/USER or discord:GUILD/USER')
    .action(async (principal: string) => {
      await run(async ({ db }) => {
        const who = principalArg(principal);
        const started = performance.now();
        const ended = await endSessionsOf(db, who);
        await recordAudit(db, { principal: 'cli', platform: 'cli', command: `access signout ${who}`, outcome: 'ok', latencyMs: performance.now() - started });
        printSignedOut(who, ended);
      }, async (endpoint) => {
        const who = principalArg(principal);
        printSignedOut(who, (await callOperatorApi<{ ended: number }>(endpoint, 'POST', '/access/signout', { principal: who })).ended);
      });
    });

  access
    .command('list', { isDefault: true })
    .description('List grants (of one principal, or all) and channel audiences.')
    .argument('[principal]')
    .option('--json', 'print JSON')
    .action(async (principal: string | undefined, opts: { json?: boolean }) => {
      await run(async ({ db, config }) => {
        const who = principal === undefined ? undefined : principalArg(principal);
        const grants = await listGrants(db, who === undefined ? undefined : [who]);
        const channels = who === undefined ? await listChannelBindings(db) : [];
        if (opts.json) return void process.stdout.write(`${JSON.stringify({ grants, channels, admins: config.access.admins })}\n`);
        const lines = grants.map((g) => `${g.id}  ${g.principal.padEnd(28)} ${g.role.padEnd(8)} ${describeScope(g.scope).padEnd(20)} ${describePrincipal(g.principal)}`);
        if (!grants.length) lines.push(who ? `${describePrincipal(who)} has no grants.` : 'No grants. Add one with `storecast access grant slack:TEAM/USER --store 5`.');
        if (who === undefined) {
          lines.push('', `Access mode: ${config.access.mode}. Admins of all stores (STORECAST_ADMINS): ${config.access.admins.join(', ') || 'none'}.`);
          lines.push(channels.length ? 'Channel audiences:' : 'No channel audiences.');
          for (const c of channels) lines.push(`  ${channelName(c).padEnd(36)} ${describeScope(c.scope)}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }, (endpoint) => listThroughServer(endpoint, principal === undefined ? undefined : principalArg(principal), opts.json));
    });

  areaOptions(access.command('channel').description("Show or set a chat channel's audience: answers about its area are posted there, others go to the asker alone.").argument('<channel>', 'slack:TEAM/CHANNEL or discord:GUILD/CHANNEL'), 'for')
    .option('--none', 'remove the audience')
    .action(async (channel: string, opts: AreaFlags & { none?: boolean }) => {
      await run(async ({ db }) => {
        const where = channelArg(channel);
        const scope = areaFrom(opts, false);
        if (opts.none && scope) throw new UserError('Give --none or an area, not both.');
        if (opts.none) {
          const had = await unbindChannel(db, where);
          return void process.stdout.write(had ? `${channelName(where)} has no audience now.\n` : `${channelName(where)} had no audience.\n`);
        }
        if (scope) {
          await bindChannel(db, { ...where, scope, createdBy: 'cli' });
          return void process.stdout.write(`${channelName(where)} is for ${describeScope(scope)}.\n`);
        }
        const current = await channelScope(db, where);
        process.stdout.write(current ? `${channelName(where)} is for ${describeScope(current)}.\n` : `${channelName(where)} has no audience.\n`);
      });
    });
  return access;
}
