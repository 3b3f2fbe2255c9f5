import { Command, Option } from 'commander';
import { createToken, listTokens, revokeToken, SCOPES, type ApiToken } from '../auth/tokens.ts';
import { callOperatorApi } from '../server/operator.ts';
import { EXIT_USAGE, withCli } from './context.ts';

/**
 * `storecast tokens create --scope ingest [--name pos-sync]`, `tokens list`, `tokens revoke <id>`.
 * Wire with program.addCommand(tokensCommand()).
 */
export function tokensCommand(): Command {
  const tokens = new Command('tokens').description('API tokens for the HTTP API (/api/v1): create, list, revoke.');

  tokens
    .command('create')
    .description('Create a token; it is printed once (stdout) and only its hash is stored.')
    .addOption(new Option('--scope <scope...>', 'scopes: ingest (POST /sales), query (read), admin (everything)').choices([...SCOPES]).makeOptionMandatory())
    .option('--name <name>', 'what the token is for', 'api')
    .option('--json', 'print JSON')
    .action(async (opts: { scope: string[]; name: string; json?: boolean }) => {
      const print = ({ token, ...info }: ApiToken & { token: string }) => {
        if (opts.json) return void process.stdout.write(`${JSON.stringify({ ...info, token })}\n`);
        process.stderr.write(`Created token ${info.id} "${info.name}" with scope ${info.scopes.join(', ')}. Store it now: it is not shown again.\n`);
        process.stdout.write(`${token}\n`);
      };
      await withCli(
        async ({ db }) => {
          const { token, info } = await createToken(db, { name: opts.name, scopes: opts.scope });
          print({ ...info, token });
        },
        // While `storecast serve` holds the embedded database, through its admin API.
        { viaServer: async (endpoint) => print(await callOperatorApi(endpoint, 'POST', '/tokens', { name: opts.name, scopes: opts.scope })) },
      );
    });

  tokens
    .command('list')
    .description('List tokens (never the tokens themselves).')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withCli(async ({ db }) => {
        const all = await listTokens(db);
        if (opts.json) return void process.stdout.write(`${JSON.stringify(all)}\n`);
        if (!all.length) return void process.stdout.write('No API tokens. Create one with `storecast tokens create --scope ingest`.\n');
        for (const t of all) {
          process.stdout.write(
            `${t.id}  ${t.name.padEnd(16)} ${t.scopes.join(',').padEnd(18)} created ${t.createdAt.slice(0, 16)}  last used ${t.lastUsedAt?.slice(0, 16) ?? 'never'}${t.revokedAt ? `  REVOKED ${t.revokedAt.slice(0, 16)}` : ''}\n`,
          );
        }
      });
    });

  tokens
    .command('revoke')
    .description('Revoke a token by id (the 8 characters after sc_).')
    .argument('<id>')
    .action(async (id: string) => {
      const report = (revoked: boolean) => {
        if (revoked) return void process.stdout.write(`Revoked ${id}.\n`);
        process.stderr.write(`No active token ${id}. See \`storecast tokens list\`.\n`);
        process.exitCode = EXIT_USAGE;
      };
      await withCli(async ({ db }) => report(await revokeToken(db, id.replace(/^sc_/, '').slice(0, 8))), {
        viaServer: async (endpoint) => report(await callOperatorApi(endpoint, 'DELETE', `/tokens/${encodeURIComponent(id)}`).then(() => true, (err: Error) => (/No active token/.test(err.message) ? false : Promise.reject(err)))),
      });
    });
  return tokens;
}
