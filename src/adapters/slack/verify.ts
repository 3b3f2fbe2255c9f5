import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack rejects nothing older than this itself; we refuse requests outside it (replays). */
export const SLACK_MAX_AGE_SECONDS = 5 * 60;

export type SlackVerification = { ok: true } | { ok: false; reason: 'missing-headers' | 'stale' | 'bad-signature' };

/** `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` keyed with the signing secret. */
export function slackSignature(signingSecret: string, timestamp: string | number, body: string | Uint8Array): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(body);
  return `v0=${hmac.digest('hex')}`;
}

/**
 * Verifies a request exactly as Slack documents it: the signature over the raw bytes as
 * received, and a timestamp within five minutes of now (either side, for clock skew).
 */
export function verifySlackRequest(input: {
  signingSecret: string;
  body: string | Uint8Array;
  timestamp: string | undefined;
  signature: string | undefined;
  nowSeconds?: number;
}): SlackVerification {
  const { timestamp, signature } = input;
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return { ok: false, reason: 'missing-headers' };
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > SLACK_MAX_AGE_SECONDS) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(slackSignature(input.signingSecret, timestamp, input.body));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  return { ok: true };
}
