import type { Command, CommandContext } from './command.ts';
import { UserError } from './errors.ts';

/**
 * What a command does to the product: `read` answers questions about data; `manage` changes
 * what the product does for others (subscriptions, later alerts and grants).
 */
export type CommandAccess = 'read' | 'manage';

/**
 * An identified asker: a chat user the platform vouched for (signed request), or the operator
 * at the server's own shell. The local web console is anonymous: anyone who reaches its port.
 */
export function isIdentified(ctx: Pick<CommandContext, 'platform' | 'user'>): boolean {
  return ctx.platform === 'cli' || ctx.user !== undefined;
}

/**
 * The one access check every command passes through (dispatch calls it after parsing).
 * Managing needs an identity; role grants per scope build on this check.
 */
export function checkCommandAccess(command: Pick<Command, 'name' | 'access'>, ctx: Pick<CommandContext, 'platform' | 'user'>): void {
  if ((command.access ?? 'read') === 'manage' && !isIdentified(ctx)) {
    throw new UserError(`/${command.name} changes what storecast does for others, so it needs a signed-in identity; the web console is anonymous.`, {
      code: 'FORBIDDEN',
      example: `Run /${command.name} in Slack or Discord, or \`storecast subscriptions\` on the server.`,
    });
  }
}
