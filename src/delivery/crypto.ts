import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { keyWeakness } from '../util/key-strength.ts';

/**
 * Webhook URLs are bearer secrets (anyone holding a Slack/Discord webhook URL can post), so
 * they are stored encrypted with AES-256-GCM under STORECAST_SECRET_KEY: `v1:iv:tag:ciphertext`
 * (base64url). The subscription id is the additional authenticated data, so a ciphertext
 * copied onto another row does not decrypt.
 */
export function encryptSecret(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
}

export function decryptSecret(key: Buffer, stored: string, aad: string): string {
  const [v, iv, tag, ct] = stored.split(':');
  if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('unrecognised encrypted value');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}

export const MISSING_KEY_MESSAGE =
  'Webhook subscriptions need STORECAST_SECRET_KEY (32 bytes, e.g. `openssl rand -hex 32`) to encrypt target URLs at rest. Set it and restart.';

export class MissingSecretKeyError extends Error {
  constructor() {
    super(MISSING_KEY_MESSAGE);
    this.name = 'MissingSecretKeyError';
  }
}

/**
 * The key is missing, weak, or does not decrypt what is stored: a configuration problem with
 * a stated remedy, reported as one clear line (start-up, CLI) rather than a stack trace.
 */
export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

const KEY_FILE = 'secret.key';

/** Where the embedded mode keeps its generated key, or undefined when it keeps none. */
export function keyFilePath(config: Pick<Config, 'database'>): string | undefined {
  if (config.database.kind !== 'pglite' || config.database.dataDir.startsWith('memory://')) return undefined;
  return join(config.database.dataDir, KEY_FILE);
}

/**
 * A key file's contents: 64 hex characters that pass the same strength rules as the variable
 * (`allowWeak` only for rotating away from it).
 */
export function readKeyFile(path: string, allowWeak = false): Buffer {
  const text = readFileSync(path, 'utf8').trim();
  const key = Buffer.from(text, 'hex');
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new SecretKeyError(`${path} does not hold a 32-byte hex key; restore it from the backup of this data directory (webhook URLs encrypted with it are unreadable without it)`);
  }
  const weakness = allowWeak ? undefined : keyWeakness(key);
  if (weakness) throw new SecretKeyError(`${path} holds a weak key: ${weakness}. Rotate to a random one: storecast secret rotate`);
  return key;
}

/** Writes a key file readable by its owner only; `exclusive` refuses to replace an existing one. */
export function writeKeyFile(path: string, key: Buffer, exclusive = true): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: exclusive ? 'wx' : 'w' });
  chmodSync(path, 0o600);
}

/**
 * The key that encrypts webhook URLs. STORECAST_SECRET_KEY when set. Without it, the embedded
 * single-process mode (PGlite in a data directory: a first run, a demo) generates a key once,
 * keeps it next to the database in `<dataDir>/secret.key` (mode 0600) and logs a warning —
 * the data and the key live and are backed up together there. With DATABASE_URL (replicas that
 * must share the key) or an in-memory database nothing is generated: undefined, and creating a
 * URL subscription is refused with MISSING_KEY_MESSAGE.
 *
 * `create: false` never generates: a missing file while encrypted rows exist must be an error,
 * not a fresh key that decrypts nothing (see openSecretKey in secret-key.ts, run at start-up).
 */
export function resolveSecretKey(config: Pick<Config, 'secretKey' | 'database'>, logger?: Logger, options: { create?: boolean } = {}): Buffer | undefined {
  if (config.secretKey) return config.secretKey;
  const path = keyFilePath(config);
  if (!path) return undefined;
  if (existsSync(path)) return readKeyFile(path);
  if (options.create === false) return undefined;
  const key = randomBytes(32);
  writeKeyFile(path, key);
  logger?.warn({ path }, 'STORECAST_SECRET_KEY is not set: generated a key for webhook URLs in the data directory (development only; set STORECAST_SECRET_KEY in production)');
  return key;
}

/**
 * Signature of a generic JSON delivery: `X-Storecast-Signature: t=<unix seconds>,v1=<hex>`,
 * where hex = HMAC-SHA256(signing secret, `${t}.${raw body}`). Receivers recompute it and
 * reject stale timestamps (replays).
 */
export function signPayload(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** Receiver-side check, exported for integrators' tests and docs. */
export function verifySignature(secret: string, body: string, header: string, options: { now?: number; toleranceSeconds?: number } = {}): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isFinite(t) || !parts.v1) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'), 'hex');
  const got = Buffer.from(parts.v1, 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * A stored target's encrypted columns (subscriptions and alert rules alike). The AAD binds each value to its row and column (the id, and
 * `<id>:signing`), so a ciphertext copied elsewhere does not decrypt.
 */
export function sealTargetSecrets(key: Buffer, id: string, secrets: { url?: string; signingSecret?: string }): { target_secret: string | null; signing_secret: string | null } {
  return {
    target_secret: secrets.url === undefined ? null : encryptSecret(key, secrets.url, id),
    signing_secret: secrets.signingSecret === undefined ? null : encryptSecret(key, secrets.signingSecret, `${id}:signing`),
  };
}

/** The decrypted target URL and signing secret of a row (delivery time only; never logged). */
export function targetSecrets(key: Buffer | undefined, row: { id: string; target_secret: string | null; signing_secret: string | null }): { url?: string; signingSecret?: string } {
  if (!row.target_secret) return {};
  if (!key) throw new Error(MISSING_KEY_MESSAGE);
  return {
    url: decryptSecret(key, row.target_secret, row.id),
    ...(row.signing_secret ? { signingSecret: decryptSecret(key, row.signing_secret, `${row.id}:signing`) } : {}),
  };
}
