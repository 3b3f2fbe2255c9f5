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
import { decryptSecret, encryptSecret, keyFilePath, resolveSecretKey, SecretKeyError } from './crypto.ts';

export { SecretKeyError };

/**
 * The one registry of columns encrypted with the secret key. Rotation, the start-up check
 * and deletes all read it, so a new encrypted column is one entry here and is then rotated,
 * checked and forgotten like the others (issue 19: alert targets were missed by all three).
 * `aad` binds each value to its row and column, as it was sealed (sealTargetSecrets).
 */
export interface EncryptedTable {
  table: string;
  /** Singular and plural, for messages. */
  label: [string, string];
  columns: { name: string; aad: (id: string) => string }[];
}

export const ENCRYPTED_COLUMNS: readonly EncryptedTable[] = [
  {
    table: 'webhook_subscriptions',
    label: ['webhook subscription', 'webhook subscriptions'],
    columns: [
      { name: 'target_secret', aad: (id) => id },
      { name: 'signing_secret', aad: (id) => `${id}:signing` },
    ],
  },
  { table: 'alert_rules', label: ['alert rule', 'alert rules'], columns: [{ name: 'target_secret', aad: (id) => id }] },
];

/** A live row's encrypted values (deleted rows are never decrypted again). */
export interface EncryptedRow {
  table: EncryptedTable;
  id: string;
  values: Record<string, string | null>;
}

const anySet = (t: EncryptedTable) => t.columns.map((c) => `${c.name} IS NOT NULL`).join(' OR ');

/** Every live row with an encrypted value, table by table in registry order. */
export async function encryptedRows(db: Pick<SqlSession, 'query'>): Promise<EncryptedRow[]> {
  const out: EncryptedRow[] = [];
  for (const table of ENCRYPTED_COLUMNS) {
    const rows = await db.query<Record<string, string | null> & { id: string }>(
      `SELECT id, ${table.columns.map((c) => c.name).join(', ')} FROM ${table.table} WHERE deleted_at IS NULL AND (${anySet(table)}) ORDER BY created_at, id`,
    );
    for (const { id, ...values } of rows) out.push({ table, id, values });
  }
  return out;
}

/** A row's plaintexts by column; throws when `key` does not decrypt one (AES-GCM authenticates). */
export function decryptRow(key: Buffer, row: EncryptedRow): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of row.table.columns) {
    const v = row.values[c.name];
    if (v) out[c.name] = decryptSecret(key, v, c.aad(row.id));
  }
  return out;
}

/** The row's values sealed under `key`, by column (null stays null). */
export function sealRow(key: Buffer, row: EncryptedRow, plain: Record<string, string>): Record<string, string | null> {
  return Object.fromEntries(row.table.columns.map((c) => [c.name, plain[c.name] === undefined ? null : encryptSecret(key, plain[c.name]!, c.aad(row.id))]));
}

/** Ids of the rows `key` does not decrypt. */
export function unreadableRows(key: Buffer, rows: readonly EncryptedRow[]): string[] {
  return rows
    .filter((row) => {
      try {
        decryptRow(key, row);
        return false;
      } catch {
        return true;
      }
    })
    .map((row) => row.id);
}

/** A deleted row keeps no secret: its encrypted columns are nulled (deletes call this). */
export async function forgetSecrets(db: Pick<SqlSession, 'query'>, table: string, id: string): Promise<void> {
  const entry = ENCRYPTED_COLUMNS.find((t) => t.table === table);
  if (!entry) throw new Error(`${table} has no encrypted columns in ENCRYPTED_COLUMNS`);
  await db.query(`UPDATE ${entry.table} SET ${entry.columns.map((c) => `${c.name} = NULL`).join(', ')} WHERE id = $1`, [id]);
}

/** Nulls the secrets every deleted row still holds (rows deleted before deletes forgot them); how many rows. */
export async function dropDeletedSecrets(db: Pick<SqlSession, 'query'>): Promise<number> {
  let n = 0;
  for (const t of ENCRYPTED_COLUMNS) {
    const rows = await db.query(`UPDATE ${t.table} SET ${t.columns.map((c) => `${c.name} = NULL`).join(', ')} WHERE deleted_at IS NOT NULL AND (${anySet(t)}) RETURNING id`);
    n += rows.length;
  }
  return n;
}

/** "2 webhook subscriptions and 1 alert rule". */
export function describeRows(rows: readonly Pick<EncryptedRow, 'table'>[]): string {
  const parts = ENCRYPTED_COLUMNS.map((t) => [t, rows.filter((r) => r.table === t).length] as const)
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${n} ${t.label[n === 1 ? 0 : 1]}`);
  return parts.length ? parts.join(' and ') : '0 webhook subscriptions';
}

const RECREATE = 'If that key is lost for good, delete those subscriptions and alert rules (storecast subscriptions delete <id>, storecast alerts delete <id>) and create them again.';

/** Where the key in force comes from, for messages. */
export function keySource(config: Pick<Config, 'secretKey' | 'database'>): string {
  return config.secretKey ? 'STORECAST_SECRET_KEY' : (keyFilePath(config) ?? 'STORECAST_SECRET_KEY');
}

export function missingKeyMessage(config: Pick<Config, 'secretKey' | 'database'>, rows: readonly EncryptedRow[]): string {
  const path = keyFilePath(config);
  const where = path ? `STORECAST_SECRET_KEY is not set and ${path} does not exist` : 'STORECAST_SECRET_KEY is not set';
  const restore = path ? `Restore ${path} from the backup of this data directory, or set STORECAST_SECRET_KEY to the key they were encrypted with` : 'Set STORECAST_SECRET_KEY to the key they were encrypted with';
  return (
    `${describeRows(rows)} store webhook URLs encrypted at rest, but there is no key to decrypt them: ${where}. ${restore}, and start again. ` +
    `No new key is generated while encrypted subscriptions exist (it would decrypt none of them). ${RECREATE}`
  );
}

export function wrongKeyMessage(config: Pick<Config, 'secretKey' | 'database'>, rows: readonly EncryptedRow[], unreadable: readonly string[]): string {
  const source = keySource(config);
  const ids = unreadable.slice(0, 10).join(', ') + (unreadable.length > 10 ? `, and ${unreadable.length - 10} more` : '');
  const path = keyFilePath(config);
  if (!config.secretKey && path && existsSync(`${path}.new`)) {
    return `${path} does not decrypt the stored webhook URLs, and ${path}.new exists: a key rotation stopped after re-encrypting them. Move ${path}.new to ${path} and start again.`;
  }
  if (unreadable.length === rows.length) {
    return (
      `${source} does not decrypt the ${describeRows(rows)} stored (${ids}): the key changed since they were created. ` +
      `Put the previous key back and start again. To move to a new key, re-encrypt them: ` +
      `STORECAST_OLD_SECRET_KEY=<previous key> storecast secret rotate (see README, Operations). ${RECREATE}`
    );
  }
  return (
    `${unreadable.length} of ${describeRows(rows)} do not decrypt with ${source}: ${ids}. ` +
    `They were encrypted with another key: restore it and re-encrypt them with STORECAST_OLD_SECRET_KEY=<that key> storecast secret rotate. ${RECREATE}`
  );
}

/**
 * The key for webhook URLs, checked against every column of ENCRYPTED_COLUMNS: with no encrypted values
 * it is resolveSecretKey's (the embedded mode may generate one); with some, it must exist
 * (nothing is generated) and decrypt every one of them, or SecretKeyError says what to do.
 */
export async function openSecretKey(config: Pick<Config, 'secretKey' | 'database'>, db: SqlSession, logger?: Logger): Promise<Buffer | undefined> {
  // Rows deleted before deletes forgot their secrets: nothing ever decrypts them again.
  await dropDeletedSecrets(db);
  const rows = await encryptedRows(db);
  if (rows.length === 0) return resolveSecretKey(config, logger);
  const key = resolveSecretKey(config, logger, { create: false });
  if (!key) throw new SecretKeyError(missingKeyMessage(config, rows));
  const unreadable = unreadableRows(key, rows);
  if (unreadable.length) throw new SecretKeyError(wrongKeyMessage(config, rows, unreadable));
  return key;
}
