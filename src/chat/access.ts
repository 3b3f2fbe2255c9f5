import { roleRank, type Role } from '../access/principal.ts';
import { describeScope, type Scope } from '../scope.ts';
import type { Command, CommandAccess, CommandContext, ParsedOptions } from './command.ts';
import { UserError } from './errors.ts';


const ROLE_FOR: Record<CommandAccess, Role> = { read: 'viewer', manage: 'manager', admin: 'admin' };

/** A refusal by the access check: shown to the asker alone, counted and audited as `denied`. */
export class AccessDenied extends UserError {
  /** `scope`: the data the refused command reached for, when it named some (for the audit row). */
  constructor(
    message: string,
    readonly scope?: Scope,
  ) {
    super(message, { code: 'DENIED' });
    this.name = 'AccessDenied';
  }
}

/**
 * An identified asker: a chat user the platform vouched for (signed request), a signed-in
 * console user, an API token, or the operator at the server's own shell. The local web console without a
 * session is anonymous: anyone who reaches its port.
 */
export function isIdentified(ctx: Pick<CommandContext, 'platform' | 'user' | 'access'>): boolean {
  // An API token is named and granted by an admin: an identity, as a Slack or Discord user is.
  return ctx.platform === 'cli' || ctx.user !== undefined || ctx.access.keys.some((k) => k.startsWith('token:'));
}

function denied(ctx: CommandContext, what: string, scope?: Scope): AccessDenied {
  const mine = ctx.access.describe();
  const yours = mine === 'no access yet' ? 'You have no access to sales data yet' : `You are ${mine}`;
  return new AccessDenied(`${what}. ${yours}; an admin can grant more with /access grant (see who with /access list).`, scope);
}

/**
 * The one access check every command passes through (dispatch calls it after parsing, before
 * the handler): the command's data reach against the asker's entitlements. Returns the reach
 * the handler may answer about: the one asked for, or a cross-store question narrowed to the
 * stores the asker may see.
 */
export async function authorizeCommand(command: Command, options: ParsedOptions, ctx: CommandContext): Promise<Scope | undefined> {
  const role = ROLE_FOR[command.accessFor?.(options) ?? command.access ?? 'read'];
  if (role !== 'viewer' && !isIdentified(ctx)) {
    throw new AccessDenied(`/${command.name} changes what storecast does for others, so it needs a signed-in identity; the web console without a session is anonymous. Run it in Slack or Discord, or sign in to the console with /console.`);
  }
  const reach = command.reach?.(options);
  const { access } = ctx;
  if (!reach) {
    if (role === 'viewer' || access.entitlements.some((e) => roleRank(e.role) >= roleRank(role))) return undefined;
    throw denied(ctx, `/${command.name} needs the ${role} role`);
  }
  if (role !== 'viewer' || reach.kind === 'store' || reach.kind === 'store-dept') {
    if (await access.covers(role, reach)) return reach;
    throw denied(ctx, role === 'viewer' ? `You cannot see ${describeScope(reach)}` : `/${command.name} for ${describeScope(reach)} needs the ${role} role there`, reach);
  }
  // A cross-store question is answered over the stores of it the asker may see, and says so.
  const narrowed = await access.narrow(reach, role);
  if (narrowed.kind === 'stores' && narrowed.stores.length === 0) throw denied(ctx, `You cannot see any store of ${describeScope(reach)}`, reach);
  return narrowed;
}

/**
 * The scope a handler answers about: a cross-store question narrowed by the access check
 * (ctx.reach of kind `stores`) replaces the one the handler built; otherwise its own stands.
 */
export function answerScope(ctx: Pick<CommandContext, 'reach'>, scope: Scope): Scope {
  return ctx.reach?.kind === 'stores' ? ctx.reach : scope;
}
