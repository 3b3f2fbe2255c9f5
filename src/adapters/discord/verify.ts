import { createPublicKey, verify, type KeyObject } from 'node:crypto';

// DER header of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * A signature only proves Discord sent these bytes once; without a bound on the signed
 * timestamp a captured request could be replayed forever. Five minutes either side, as Slack
 * documents for its own signatures, allows for clock skew between Discord and us.
 */
export const DISCORD_MAX_AGE_SECONDS = 5 * 60;

export type DiscordVerification = { ok: true } | { ok: false; reason: 'missing-headers' | 'stale' | 'bad-signature' };

/** DISCORD_PUBLIC_KEY (64 hex characters from the developer portal) as a Node key. */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('DISCORD_PUBLIC_KEY must be 64 hex characters');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

/**
 * Discord signs `X-Signature-Timestamp` (unix seconds) + raw body with Ed25519 and sends the
 * signature in `X-Signature-Ed25519` (hex). Anything missing or malformed is simply not
 * valid; a timestamp more than DISCORD_MAX_AGE_SECONDS from now is stale (a replay).
 */
export function verifyDiscordRequest(input: {
  publicKey: KeyObject;
  body: Uint8Array;
  signature: string | undefined;
  timestamp: string | undefined;
  nowSeconds?: number;
}): DiscordVerification {
  const { signature, timestamp } = input;
  if (!signature || !timestamp || !/^\d+$/.test(timestamp) || !/^[0-9a-fA-F]{128}$/.test(signature)) return { ok: false, reason: 'missing-headers' };
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > DISCORD_MAX_AGE_SECONDS) return { ok: false, reason: 'stale' };
  try {
    const valid = verify(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), input.body]), input.publicKey, Buffer.from(signature, 'hex'));
    return valid ? { ok: true } : { ok: false, reason: 'bad-signature' };
  } catch {
    return { ok: false, reason: 'bad-signature' };
  }
}
