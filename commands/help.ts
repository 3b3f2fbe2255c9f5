import { defineCommand, type Command, type CommandContext } from '../src/chat/command.ts';
import { UserError } from '../src/chat/errors.ts';
import { suggestCommand, usage } from '../src/chat/parse.ts';
import type { CommandRegistry } from '../src/chat/dispatch.ts';

/** /help reads the registry it belongs to, so it lists whatever commands are loaded. */
export function createHelpCommand(registry: () => CommandRegistry): Command {
  return defineCommand({
    name: 'help',
    description: 'List the commands, or show one command with its options and examples.',
    // A bare word is the command asked about: '/help forecast', as the examples and suggestions say.
    options: [{ name: 'command', type: 'string', pattern: /^\/?[a-z][a-z-]*$/i, description: 'A command name, e.g. forecast' }],
    examples: ['/help', '/help forecast'],
    answersPrivately: true,
    async handler(options, ctx) {
      const commands = [...registry().values()];
      const mine = await examplesFor(ctx);
      const wanted = options.command?.replace(/^\//, '').toLowerCase();
      if (wanted) {
        const command = registry().get(wanted);
        if (!command) {
          const near = suggestCommand(wanted, [...registry().keys()]);
          throw new UserError(`There is no /${wanted} command.`, { suggestion: near ? `/help ${near}` : undefined, example: '/help forecast' });
        }
        return {
          title: `/${command.name}`,
          summary: command.description,
          facts: [
            { label: 'Usage', value: usage(command) },
            ...command.options.map((o) => ({
              label: o.name,
              value: `${o.description}${o.aliases?.length ? ` (also: ${o.aliases.join(', ')})` : ''}${o.required ? ' — required' : ''}`,
            })),
            { label: 'Examples', value: command.examples.map(mine).join('\n') },
          ],
          actions: command.examples.slice(0, 2).map(mine).map((e) => ({ label: e, command: e })),
          visibility: 'ephemeral',
          context: {},
          data: { command: command.name, usage: usage(command), options: command.options, examples: command.examples },
        };
      }
      return {
        title: 'storecast commands',
        summary: 'Ask about sales, forecasts and holidays. Options can be words (`store 5 weeks 12`), key=value (`store=5`) or bare numbers (`/forecast 5`).',
        facts: commands.map((c) => ({ label: `/${c.name}`, value: `${c.description}\ne.g. ${mine(c.examples[0]!)}` })),
        actions: commands.filter((c) => c.name !== 'help').map((c) => ({ label: `/${c.name}`, command: mine(c.examples[0]!) })),
        visibility: 'ephemeral',
        context: {},
        data: { commands: commands.map((c) => ({ name: c.name, usage: usage(c), examples: c.examples })) },
      };
    },
  });
}

/**
 * Examples that name a store the asker may see: "/forecast store 5" becomes "/forecast store 12"
 * for a manager of store 12, so a suggested click is never refused.
 */
async function examplesFor(ctx: CommandContext): Promise<(example: string) => string> {
  const visible = await ctx.access.stores();
  if (visible === 'all') return (e) => e;
  const first = [...visible].sort((a, b) => a - b)[0];
  return (e) => (first === undefined ? e : e.replace(/\bstore (\d+)/g, (m, n: string) => (visible.has(Number(n)) ? m : `store ${first}`)));
}
