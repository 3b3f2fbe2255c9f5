/**
 * The start-up check of the webhook key. A key that cannot decrypt the stored URLs is worse
 * than none: every delivery fails, slowly (retries), and a key generated afresh would encrypt
 * new URLs under a key that old backups and other replicas do not have. So while encrypted
 * subscriptions exist, the key must be there and must decrypt them, or storecast refuses to
 * start and says what to do.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.ts';
import type { SqlSession } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { keyFilePath, resolveSecretKey, SecretKeyError } from './crypto.ts';
import { targetSecrets, type SubscriptionRow } from './subscriptions.ts';

export { SecretKeyError };

export type EncryptedRow = Pick<SubscriptionRow, 'id' | 'target_secret' | 'signing_secret'>;

/** Active subscriptions with encrypted columns (deleted ones are never decrypted again). */
export async function encryptedRows(db: SqlSession): Promise<EncryptedRow[]> {
  return db.query<EncryptedRow>(
    `SELECT id, target_secret, signing_secret FROM webhook_subscriptions
     WHERE deleted_at IS NULL AND (target_secret IS NOT NULL OR signing_secret IS NOT NULL)
     ORDER BY created_at, id`,
  );
}

/** Ids of the rows `key` does not decrypt (AES-GCM: a wrong key fails authentication). */
export function unreadableRows(key: Buffer, rows: readonly EncryptedRow[]): string[] {
  return rows
    .filter((row) => {
      try {
        targetSecrets(key, row);
        return false;
      } catch {
        return true;
      }
    })
    .map((row) => row.id);
}

const RECREATE = 'If that key is lost for good, delete those subscriptions (storecast subscriptions delete <id>) and create them again.';

function subscriptions(n: number): string {
  return `${n} webhook subscription${n === 1 ? '' : 's'}`;
}

/** Where the key in force comes from, for messages. */
export function keySource(config: Pick<Config, 'secretKey' | 'database'>): string {
  return config.secretKey ? 'STORECAST_SECRET_KEY' : (keyFilePath(config) ?? 'STORECAST_SECRET_KEY');
}

export function missingKeyMessage(config: Pick<Config, 'secretKey' | 'database'>, count: number): string {
  const path = keyFilePath(config);
  const where = path ? `STORECAST_SECRET_KEY is not set and ${path} does not exist` : 'STORECAST_SECRET_KEY is not set';
  const restore = path ? `Restore ${path} from the backup of this data directory, or set STORECAST_SECRET_KEY to the key they were encrypted with` : 'Set STORECAST_SECRET_KEY to the key they were encrypted with';
  return (
    `${subscriptions(count)} store webhook URLs encrypted at rest, but there is no key to decrypt them: ${where}. ${restore}, and start again. ` +
    `No new key is generated while encrypted subscriptions exist (it would decrypt none of them). ${RECREATE}`
  );
}

export function wrongKeyMessage(config: Pick<Config, 'secretKey' | 'database'>, count: number, unreadable: readonly string[]): string {
  const source = keySource(config);
  const ids = unreadable.slice(0, 10).join(', ') + (unreadable.length > 10 ? `, and ${unreadable.length - 10} more` : '');
  const path = keyFilePath(config);
  if (!config.secretKey && path && existsSync(`${path}.new`)) {
    return `${path} does not decrypt the stored webhook URLs, and ${path}.new exists: a key rotation stopped after re-encrypting them. Move ${path}.new to ${path} and start again.`;
  }
  if (unreadable.length === count) {
    return (
      `${source} does not decrypt the ${subscriptions(count)} stored (${ids}): the key changed since they were created. ` +
      `Put the previous key back and start again. To move to a new key, re-encrypt them: ` +
      `STORECAST_OLD_SECRET_KEY=<previous key> storecast secret rotate (see README, Operations). ${RECREATE}`
    );
  }
  return (
    `${unreadable.length} of ${subscriptions(count)} do not decrypt with ${source}: ${ids}. ` +
    `They were encrypted with another key: restore it and re-encrypt them with STORECAST_OLD_SECRET_KEY=<that key> storecast secret rotate. ${RECREATE}`
  );
}

/**
 * The key for webhook URLs, checked against the database: with no encrypted subscriptions
 * it is resolveSecretKey's (the embedded mode may generate one); with some, it must exist
 * (nothing is generated) and decrypt every one of them, or SecretKeyError says what to do.
 */
export async function openSecretKey(config: Pick<Config, 'secretKey' | 'database'>, db: SqlSession, logger?: Logger): Promise<Buffer | undefined> {
  const rows = await encryptedRows(db);
  if (rows.length === 0) return resolveSecretKey(config, logger);
  const key = resolveSecretKey(config, logger, { create: false });
  if (!key) throw new SecretKeyError(missingKeyMessage(config, rows.length));
  const unreadable = unreadableRows(key, rows);
  if (unreadable.length) throw new SecretKeyError(wrongKeyMessage(config, rows.length, unreadable));
  return key;
}
