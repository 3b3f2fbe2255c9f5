import type { Database } from '../db/client.ts';
import { describeScope, type Scope } from '../scope.ts';
import { resolveAccess, type Access, type AccessMode, type AccessSettings } from './access.ts';
import { channelAudience } from './audience.ts';
import { describePrincipal, identityOfKey, type Role } from './principal.ts';

/**
 * "May this be delivered here": the one decision for everything that leaves on its own (weekly
 * summaries, alert notices, their emails, CSV attachments and chart links), taken at creation
 * and again at every send. It holds the creator's grants AND the target's audience: a channel
 * may see what it is bound to (src/access/audience.ts), a direct message is its creator, and a
 * webhook URL or an email address is whoever the creator chose, so the creator's grants alone
 * decide (an address needs the admin role: storecast cannot tell whose it is).
 */
export type DeliveryTarget =
  | { kind: 'channel'; platform: 'slack' | 'discord'; workspace?: string; channel: string }
  | { kind: 'dm'; platform: 'slack' | 'discord'; workspace?: string; user: string }
  | { kind: 'webhook' }
  | { kind: 'email' }
  /**
   * A direct message to each principal holding a role on the scope, of their stores only: the
   * creator's grants decide the scope, each recipient's own grants what they get.
   */
  | { kind: 'recipients' };

/** Who set the delivery up, as far as access goes now. */
export type Creator =
  /** The operator at the server's shell, an import, or work from before creators were kept. */
  | { kind: 'operator' }
  | { kind: 'principal'; key: string; access: Access }
  /** A principal that is no more: a revoked (or unknown) API token. */
  | { kind: 'gone'; key: string; why: string };

export type DeliveryVerdict =
  | { ok: true }
  | {
      ok: false;
      cause: 'creator' | 'audience';
      /** For the creator (a refusal at creation): names the missing grant or the channel's audience. */
      message: string;
      /** For the target (the one pause notice): names no data the target may not see. */
      notice: string;
    };

/** The role the creator needs on the data for a target. */
function neededRole(target: DeliveryTarget): Role {
  return target.kind === 'email' ? 'admin' : 'viewer';
}

/**
 * The decision. `mode` open: everyone sees everything, so only a gone creator and a bound
 * channel's audience can refuse. The creator's check comes first: a refusal names what they lack.
 */
export async function mayDeliver(db: Database, mode: AccessMode, creator: Creator, scope: Scope, target: DeliveryTarget): Promise<DeliveryVerdict> {
  const what = describeScope(scope);
  if (creator.kind === 'gone') {
    return { ok: false, cause: 'creator', message: `${describePrincipal(creator.key)} ${creator.why}.`, notice: `${describePrincipal(creator.key)}, who set it up, ${creator.why}.` };
  }
  if (creator.kind === 'principal' && mode === 'restricted') {
    const role = neededRole(target);
    if (!(await creator.access.covers(role, scope))) {
      const why = target.kind === 'email' ? ' (an email address may be anyone’s, so mail needs the admin role)' : '';
      return {
        ok: false,
        cause: 'creator',
        message: `${describePrincipal(creator.key)} would need the ${role} role for ${what}${why}, and is ${creator.access.describe()}: nothing would be delivered but a pause notice. An admin can grant it with /access grant (or storecast access grant).`,
        notice: `${describePrincipal(creator.key)}, who set it up, no longer has the access it needs.`,
      };
    }
  }
  if (target.kind === 'channel') {
    const audience = await channelAudience(db, mode, target, scope);
    if (!audience.post) {
      return {
        ok: false,
        cause: 'audience',
        message: audience.unbound
          ? `This channel has no audience yet, so nothing about ${what} may be posted in it on a schedule: an admin can set one with /access channel.`
          : audience.why.replace(/^Shown only to you: /, '').replace(/this answer is/, 'this delivery would be'),
        notice: audience.unbound ? 'this channel has no audience (an admin sets one with /access channel).' : 'this channel’s audience does not cover what it delivers (see /access channel).',
      };
    }
  }
  return { ok: true };
}

/** A stored creator (key and Discord roles kept with the work) as it stands now. */
export async function resolveCreator(db: Database, settings: AccessSettings, stored: { key: string | null; roles: readonly string[] | null }): Promise<Creator> {
  const key = stored.key ?? '';
  const who = identityOfKey(key);
  if (!who) return { kind: 'operator' };
  if (who.tokenId !== undefined) {
    const [row] = await db.query<{ revoked: boolean }>('SELECT revoked_at IS NOT NULL AS revoked FROM api_tokens WHERE id = $1', [who.tokenId]);
    if (!row) return { kind: 'gone', key, why: 'no longer exists' };
    if (row.revoked) return { kind: 'gone', key, why: 'was revoked' };
  }
  return { kind: 'principal', key, access: await resolveAccess(db, settings, { ...who, roles: [...(stored.roles ?? [])] }) };
}

/**
 * An asker creating something now (their access resolved already), as a creator: with no
 * principal key only the operator at the shell can create (manage commands need an identity),
 * and their work is stored with no creator, so it is judged the same way at send time.
 */
export function creatorOf(key: string | undefined, access: Access): Creator {
  return key === undefined ? { kind: 'operator' } : { kind: 'principal', key, access };
}
