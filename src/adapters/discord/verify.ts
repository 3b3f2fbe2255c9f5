import { createPublicKey, verify, type KeyObject } from 'node:crypto';

// DER header of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** DISCORD_PUBLIC_KEY (64 hex characters from the developer portal) as a Node key. */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('DISCORD_PUBLIC_KEY must be 64 hex characters');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

/**
 * Discord signs `X-Signature-Timestamp` + raw body with Ed25519 and sends the signature in
 * `X-Signature-Ed25519` (hex). Anything missing or malformed is simply not valid.
 */
export function verifyDiscordRequest(input: { publicKey: KeyObject; body: Uint8Array; signature: string | undefined; timestamp: string | undefined }): boolean {
  const { signature, timestamp } = input;
  if (!signature || !timestamp || !/^[0-9a-fA-F]{128}$/.test(signature)) return false;
  try {
    return verify(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), input.body]), input.publicKey, Buffer.from(signature, 'hex'));
  } catch {
    return false;
  }
}
