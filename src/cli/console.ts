import { Command } from 'commander';
import { describePrincipal } from '../access/principal.ts';
import { createLoginToken, isChatUser, LOGIN_LINK_MINUTES, loginUrl } from '../auth/console-sessions.ts';
import { EXIT_USAGE, withCli } from './context.ts';

/**
 * `storecast console-link --as slack:T1/U1 [--role R9...]`: a one-time web console sign-in link
 * for someone, as /console makes in chat. Whoever has the server's shell is an admin already.
 */
export function consoleLinkCommand(): Command {
  return new Command('console-link')
    .description(`Print a one-time link (${LOGIN_LINK_MINUTES} minutes) that signs someone in to the web console as their chat identity.`)
    .requiredOption('--as <principal>', 'who: slack:TEAM/USER or discord:GUILD/USER')
    .option('--role <id...>', 'Discord role ids the member has (discord-role grants apply)')
    .action(async (opts: { as: string; role?: string[] }) => {
      const principal = opts.as.trim();
      const roles = opts.role ?? [];
      const badRole = roles.find((r) => !/^[A-Za-z0-9_-]+$/.test(r));
      const problem = !isChatUser(principal)
        ? `--as must be a Slack or Discord user, slack:TEAM/USER or discord:GUILD/USER (got "${principal.slice(0, 80)}")`
        : roles.length && !principal.startsWith('discord:')
          ? '--role is for Discord members only'
          : badRole !== undefined
            ? `--role "${badRole.slice(0, 40)}" is not a Discord role id`
            : undefined;
      if (problem) {
        process.stderr.write(`storecast: ${problem}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      await withCli(async ({ config, db }) => {
        const { token, expiresAt } = await createLoginToken(db, { principal, roles, issuedVia: 'cli' });
        process.stderr.write(`Sign-in link for ${describePrincipal(principal)}, valid once until ${expiresAt.slice(0, 16).replace('T', ' ')} UTC. Send it to them alone.\n`);
        process.stdout.write(`${loginUrl(config.baseUrl, token)}\n`);
      });
    });
}
