import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';

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

const KEY_FILE = 'secret.key';

/**
 * The key that encrypts webhook URLs. STORECAST_SECRET_KEY when set. Without it, the embedded
 * single-process mode (PGlite in a data directory: a first run, a demo) generates a key once,
 * keeps it next to the database in `<dataDir>/secret.key` (mode 0600) and logs a warning —
 * the data and the key live and are backed up together there. With DATABASE_URL (replicas that
 * must share the key) or an in-memory database nothing is generated: undefined, and creating a
 * URL subscription is refused with MISSING_KEY_MESSAGE.
 */
export function resolveSecretKey(config: Pick<Config, 'secretKey' | 'database'>, logger?: Logger): Buffer | undefined {
  if (config.secretKey) return config.secretKey;
  if (config.database.kind !== 'pglite' || config.database.dataDir.startsWith('memory://')) return undefined;
  const path = join(config.database.dataDir, KEY_FILE);
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
    if (key.length === 32) return key;
    throw new Error(`${path} does not hold a 32-byte hex key; fix or remove it (webhook URLs encrypted with it become unreadable)`);
  }
  mkdirSync(config.database.dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
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
