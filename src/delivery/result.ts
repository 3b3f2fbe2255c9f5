import type { Reply } from '../chat/reply.ts';
import { isPermanentHttpFailure, parseRetryAfter } from '../util/retry.ts';

/**
 * The result of one attempt to deliver, from every sender (Slack, Discord, signed webhook,
 * email): what the queue needs to record it, retry it (after `retryAfterMs` when the target
 * said so, capped by the queue) or bury it (`permanent`: retrying will not change the answer).
 */
export type SendResult =
  /** `message`: where a chat post landed (Slack channel + ts, Discord channel + message id), to edit it later. */
  | { ok: true; status: number; warning?: string; message?: PostedMessage }
  | { ok: false; status: number | null; error: string; retryAfterMs?: number; permanent?: boolean };

/** Error text that is safe to store and log: never a URL (a target URL is a secret), short. */
export function safeError(err: unknown, url?: string): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  let text = e?.name === 'TimeoutError' || e?.name === 'AbortError' ? 'timed out' : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err));
  if (url) text = text.split(url).join('[target]');
  return text.replace(/https?:\/\/\S+/g, '[url]').slice(0, 300);
}

/**
 * An HTTP answer as a result: status, and "<what> <status>" as the reason. The response body is
 * never read: a target's answer may be an internal page or carry secrets, and it would end up in
 * the delivery log. Retry-After and the permanent statuses are the one parser and list (util/retry.ts).
 */
export function httpResult(res: { ok: boolean; status: number; headers: { get(name: string): string | null } }, what = 'HTTP'): SendResult {
  if (res.ok) return { ok: true, status: res.status };
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  return { ok: false, status: res.status, error: `${what} ${res.status}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), permanent: isPermanentHttpFailure(res.status) };
}

/** A message posted in chat, as the platform names it (Slack: channel id + ts; Discord: channel id + message id). */
export interface PostedMessage {
  channel: string;
  id: string;
}

/**
 * How a reply reaches one chat platform: its posting and its webhook body, from the platform's
 * adapter (src/adapters/<platform>/post.ts). Handed in by the wiring (services, the CLI) as `Platforms`,
 * so delivery code imports no platform code and the adapters stay the top layer.
 */
export interface PlatformPoster {
  /** A message with its chart to a channel (or, where the platform allows, a user id). */
  post(channel: string, reply: Reply, png: Buffer | undefined): Promise<SendResult>;
  /** Replaces a posted message with `reply` (Slack chat.update, Discord message edit). */
  update(message: PostedMessage, reply: Reply): Promise<SendResult>;
  /** Posts `reply` in the posted message's thread (`direct`: a DM, where Discord has no threads; `name`: a new thread's). */
  threadReply(message: PostedMessage, reply: Reply, options?: { direct?: boolean; name?: string }): Promise<SendResult>;
  /**
   * The members of a Discord server with their role ids (Discord only: a role grant's people).
   * Needs the privileged Server Members intent; without it the answer is a permanent failure.
   */
  members?(guild: string): Promise<{ user: string; roles: string[] }[] | (SendResult & { ok: false })>;
  /** The channel of a direct message with a user, opened (or found). */
  openDm(user: string): Promise<{ channel: string } | SendResult>;
  /** The body of the platform's incoming webhook: no buttons (a click would reach no app). */
  webhookBody(reply: Reply, png: Buffer | undefined, chartUrl: string | undefined): string | FormData;
}

/** Slack and Discord posters for one request timeout. */
export type Platforms = (timeoutMs: number) => { slack: PlatformPoster; discord: PlatformPoster };
