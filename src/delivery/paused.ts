import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { mayDeliver, resolveCreator, type DeliveryTarget } from '../access/delivery.ts';
import type { Reply } from '../chat/reply.ts';
import type { Scope } from '../scope.ts';

/** A queued job's standing work (a subscription, an alert rule), as the send-time decision sees it. */
export interface StandingWork {
  /** How the notice names it: "Weekly summary sub_…", "Alert alr_…". */
  name: string;
  /** The command line that removes it, named in the notice. */
  remove: string;
  createdBy: string | null;
  createdByRoles: readonly string[] | null;
  pausedAt: unknown;
  scope: Scope;
  target: DeliveryTarget;
  /** True only for the call that paused it (it sends the one notice). */
  pause(reason: string): Promise<boolean>;
  resume(): Promise<void>;
  data: Record<string, unknown>;
}

/** The one notice paused work sends: it names no data, only why and what to do. */
export function pausedNotice(work: Pick<StandingWork, 'name' | 'remove' | 'data'>, why: string): Reply {
  return {
    title: `${work.name} paused`,
    summary: `${work.name} is paused: ${why} Nothing more is sent until it may be delivered here again. An admin can grant the access again (/access grant) or remove it (${work.remove}).`,
    facts: [],
    actions: [],
    visibility: 'channel',
    context: {},
    data: { paused: true, ...work.data },
  };
}

export type SendDecision = { send: 'work' } | { send: 'notice'; reply: Reply } | { send: 'nothing'; why: string };

/**
 * The delivery decision at send time (src/access/delivery.ts), as at creation: the work when it
 * may be delivered here (ending a pause), else the one pause notice, else nothing at all. A
 * caller whose notice did not get through resumes the work, so the retry sends the notice.
 */
export async function decideAtSend(db: Database, access: Config['access'], work: StandingWork): Promise<SendDecision> {
  const creator = await resolveCreator(db, access, { key: work.createdBy, roles: work.createdByRoles });
  const verdict = await mayDeliver(db, access.mode, creator, work.scope, work.target);
  if (verdict.ok) {
    if (work.pausedAt) await work.resume();
    return { send: 'work' };
  }
  if (await work.pause(verdict.message)) return { send: 'notice', reply: pausedNotice(work, verdict.notice) };
  return { send: 'nothing', why: verdict.notice };
}
