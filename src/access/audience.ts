import type { Database } from '../db/client.ts';
import { describeScope, type Scope } from '../scope.ts';
import { scopeWithin, type AccessMode } from './access.ts';
import { channelScope, type ChannelRef } from './channels.ts';

/** Whether an answer may be posted where it was asked, and if not, why (said to the asker). */
export type Audience = { post: true } | { post: false; why: string; /** No audience set yet: a manager may share into it. */ unbound: boolean };

/**
 * A channel's audience may see what the channel is bound to, nothing wider: an answer is
 * posted only when its data lies within that scope (the asker's own access was checked before
 * the command ran). An unbound channel gets answers in the open demo only; in restricted mode
 * they go to the asker alone until an admin sets the channel's audience.
 */
export async function channelAudience(db: Database, mode: AccessMode, where: ChannelRef, reach: Scope | undefined): Promise<Audience> {
  const bound = await channelScope(db, where);
  if (!bound) {
    if (mode === 'open' || reach === undefined) return { post: true };
    return { post: false, unbound: true, why: 'Shown only to you: this channel has no audience yet (an admin can set one with /access channel).' };
  }
  if (reach === undefined || (await scopeWithin(db, bound, reach))) return { post: true };
  return { post: false, unbound: false, why: `Shown only to you: this channel is for ${describeScope(bound)}, and this answer is about ${describeScope(reach)}.` };
}
