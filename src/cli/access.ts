import { Command, Option } from 'commander';
import { bindChannel, channelScope, listChannelBindings, unbindChannel, type ChannelRef } from '../access/channels.ts';
import { addGrant, listGrants, removeGrants } from '../access/grants.ts';
import { describePrincipal, parsePrincipal, ROLES, type Role } from '../access/principal.ts';
import { UserError } from '../chat/errors.ts';
import { describeScope, type AreaScope } from '../scope.ts';
import { EXIT_USAGE, withCli } from './context.ts';

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
    if (!(Number.isInteger(store) && store >= 1 && store <= 9999)) throw new UserError('--store must be a store number (1-9999).');
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

/** Runs one subcommand: a UserError is one line on stderr and exit 2. */
async function run(work: Parameters<typeof withCli>[0]): Promise<void> {
  await withCli(async (ctx) => {
    try {
      await work(ctx);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = EXIT_USAGE;
    }
  });
}

const areaOptions = (cmd: Command, what: string) =>
  cmd.option('--store <n>', `${what} a store`).option('--region <name>', `${what} a region`).option('--chain', `${what} all stores`);

/**
 * `storecast access grant|revoke|list|channel`: who may see what, from the server's shell (the
 * operator is an admin of the chain). Principals are keys: slack:TEAM/USER, discord:GUILD/USER,
 * discord-role:GUILD/ROLE, token:ID. Wire with program.addCommand(accessCommand()).
 */
export function accessCommand(): Command {
  const access = new Command('access').description('Who may see what: grants (principal x role x store, region or chain) and channel audiences.');

  areaOptions(access.command('grant').description('Grant a principal a role on a store, a region or the chain.').argument('<principal>', 'slack:TEAM/USER, discord:GUILD/USER, discord-role:GUILD/ROLE or token:ID'), 'on')
    .addOption(new Option('--role <role>', 'what they may do').choices([...ROLES]).default('viewer'))
    .option('--json', 'print JSON')
    .action(async (principal: string, opts: AreaFlags & { role: Role; json?: boolean }) => {
      await run(async ({ db }) => {
        const who = principalArg(principal);
        const scope = areaFrom(opts, true)!;
        const grant = await addGrant(db, { principal: who, role: opts.role, scope, createdBy: 'cli' });
        if (opts.json) process.stdout.write(`${JSON.stringify(grant)}\n`);
        else process.stdout.write(`${grant.id}  ${describePrincipal(who)} is ${grant.role} of ${describeScope(grant.scope)}.\n`);
      });
    });

  areaOptions(access.command('revoke').description("Revoke a principal's grants: all of them, or one area's (and role's).").argument('<principal>'), 'of')
    .addOption(new Option('--role <role>', 'only this role').choices([...ROLES]))
    .action(async (principal: string, opts: AreaFlags & { role?: Role }) => {
      await run(async ({ db }) => {
        const who = principalArg(principal);
        const scope = areaFrom(opts, false);
        const removed = await removeGrants(db, who, { role: opts.role, scope });
        if (!removed) throw new UserError(`${describePrincipal(who)} has no such grant. See \`storecast access list ${who}\`.`);
        process.stdout.write(`Revoked ${removed} grant${removed === 1 ? '' : 's'} of ${describePrincipal(who)}.\n`);
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
      });
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
