import { Routes } from '../adapters/discord/djs.ts';
import type { Command as Program } from 'commander';
import { createRegistry } from '../../commands/index.ts';
import { buildDiscordCommands } from '../adapters/discord/commands.ts';
import { createRest, withRetry } from '../adapters/discord/rest.ts';
import { DEFAULT_RETRY } from '../util/retry.ts';
import { ConfigError, type Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { EXIT_USAGE, loadCliConfig } from './context.ts';

/** The commands the server answers (the registry createServices() builds). */
export const discordCommandDefinitions = () => buildDiscordCommands(createRegistry());

export interface RegisterResult {
  scope: 'global' | { guild: string };
  commands: { id: string; name: string }[];
}

/**
 * PUTs the application commands (a bulk overwrite: commands no longer defined disappear),
 * globally or in one guild. Guild commands update at once; use a guild while testing.
 */
export async function registerDiscordCommands(config: Config, guild?: string): Promise<RegisterResult> {
  const { appId, botToken, apiUrl } = config.discord;
  const missing = [!appId && 'DISCORD_APP_ID', !botToken && 'DISCORD_BOT_TOKEN'].filter(Boolean);
  if (missing.length) throw new ConfigError(missing.map((m) => `${m} is required to register commands (Discord developer portal > your application)`));
  if (guild !== undefined && !/^\d{5,25}$/.test(guild)) throw new ConfigError([`--guild must be a server id (a number), got "${guild}"`]);
  const commands = discordCommandDefinitions();
  const rest = createRest(apiUrl, botToken, DEFAULT_RETRY);
  const route = guild ? Routes.applicationGuildCommands(appId!, guild) : Routes.applicationCommands(appId!);
  const logger = createLogger(config.logLevel, { format: config.logFormat });
  const saved = (await withRetry('register commands', () => rest.put(route, { body: commands }), DEFAULT_RETRY, logger)) as { id: string; name: string }[];
  return { scope: guild ? { guild } : 'global', commands: saved.map((c) => ({ id: c.id, name: c.name })) };
}

/** `storecast discord register [--guild ID] [--print]` */
export function register(program: Program): void {
  const discord = program.command('discord').description('Discord application commands');
  discord
    .command('register')
    .description('Register the slash commands with Discord, globally or in one server (needs DISCORD_APP_ID and DISCORD_BOT_TOKEN)')
    .option('--guild <id>', 'register in this server only (updates at once; good for testing)')
    .option('--print', 'print the command definitions as JSON and register nothing')
    .action(async (opts: { guild?: string; print?: boolean }) => {
      if (opts.print) {
        process.stdout.write(`${JSON.stringify(discordCommandDefinitions(), null, 2)}\n`);
        return;
      }
      try {
        const result = await registerDiscordCommands(loadCliConfig(), opts.guild);
        const where = result.scope === 'global' ? 'globally' : `in server ${result.scope.guild}`;
        process.stdout.write(`Registered ${result.commands.length} commands ${where}: ${result.commands.map((c) => `/${c.name}`).join(', ')}\n`);
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`${err.message}\n`);
          process.exitCode = EXIT_USAGE;
          return;
        }
        const e = err as { status?: number; message?: string };
        process.stderr.write(`Discord refused the commands${e.status ? ` (HTTP ${e.status})` : ''}: ${e.message ?? String(err)}\n`);
        process.exitCode = 1;
      }
    });
}
