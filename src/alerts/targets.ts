import type { CommandContext } from '../chat/command.ts';
import { UserError } from '../chat/errors.ts';
import { describeScope, type Scope } from '../scope.ts';
import { refuseUrlInChat } from '../delivery/targets.ts';
import type { AlertTargetInput } from './rules.ts';

/**
 * Where a rule made in chat notifies: the channel (default), the creator by direct message
 * ("to me"), or an email address (admins: storecast cannot tell whether an address is the
 * asker's). Webhook URLs are refused here: pasted in a channel, a URL is a leaked credential;
 * the API and the CLI take them.
 */
export async function acceptedTarget(to: string | undefined, ctx: CommandContext, scope: Scope): Promise<AlertTargetInput> {
  const chat = ctx.platform === 'slack' || ctx.platform === 'discord' ? ctx.platform : undefined;
  const value = (to ?? 'channel').trim();
  refuseUrlInChat(value, { api: '/api/v1/alerts', cli: 'storecast alerts create' });
  if (/@|mailto:/i.test(value)) {
    if (!(await ctx.access.covers('admin', scope))) throw new UserError(`Alerts by email need the admin role for ${describeScope(scope)} (storecast cannot check that an address is yours). Use "to me" for a direct message.`, { code: 'DENIED' });
    return { kind: 'email', address: value };
  }
  if (!chat || !ctx.channel || (value === 'me' && !ctx.user)) {
    throw new UserError('Create alerts from a Slack or Discord channel (they notify there, or you with "to me"); integrations use POST /api/v1/alerts or `storecast alerts create`.', { code: 'NOT_A_CHANNEL' });
  }
  if (value === 'me') return { kind: 'dm', platform: chat, workspace: ctx.workspace, channel: ctx.user! };
  if (value === 'channel' || value === 'here') return { kind: 'channel', platform: chat, workspace: ctx.workspace, channel: ctx.channel };
  throw new UserError(`to: "${value.slice(0, 40)}" is not a target; use channel, me, or an email address.`);
}
