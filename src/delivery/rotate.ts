/**
 * `storecast secret rotate`: every encrypted column of ENCRYPTED_COLUMNS (subscription URLs and
 * signing secrets, alert webhook targets) moves from one key to another in one transaction, so
 * the database never holds a mix of keys (which no single STORECAST_SECRET_KEY could read).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { keyFilePath, readKeyFile, SecretKeyError, writeKeyFile } from './crypto.ts';
import { decryptRow, describeRows, dropDeletedSecrets, ENCRYPTED_COLUMNS, encryptedRows, keySource, sealRow, unreadableRows } from './secret-key.ts';

export interface RotationPlan {
  /** The key the rows are encrypted with now (undefined: there is none, fine with no rows). */
  from: Buffer | undefined;
  to: Buffer;
  /** Where `to` lives afterwards: written to the key file, shown to the operator, or already configured. */
  destination: { kind: 'file'; path: string } | { kind: 'print' } | { kind: 'configured' };
  /** For messages: where `from` came from. */
  fromSource: string;
}

/**
 * Which keys a rotation moves between, from the configuration alone:
 * - STORECAST_OLD_SECRET_KEY set: from it to the key in force (STORECAST_SECRET_KEY or the
 *   key file), which the operator has already put in place; a new key only if there is none.
 * - otherwise: from the key in force to a new random key, written to the key file in the
 *   embedded mode without STORECAST_SECRET_KEY, else printed for the operator to set.
 */
export function planRotation(config: Pick<Config, 'secretKey' | 'oldSecretKey' | 'database'>, generate = () => randomBytes(32)): RotationPlan {
  const path = keyFilePath(config);
  const fileKey = (allowWeak: boolean) => (path && existsSync(path) ? readKeyFile(path, allowWeak) : undefined);
  const fresh = (): RotationPlan['destination'] => (!config.secretKey && path ? { kind: 'file', path } : { kind: 'print' });
  let plan: RotationPlan;
  if (config.oldSecretKey) {
    const current = config.secretKey ?? fileKey(false);
    plan = current
      ? { from: config.oldSecretKey, to: current, destination: { kind: 'configured' }, fromSource: 'STORECAST_OLD_SECRET_KEY' }
      : { from: config.oldSecretKey, to: generate(), destination: fresh(), fromSource: 'STORECAST_OLD_SECRET_KEY' };
  } else {
    // The key being retired may be a weak one (that can be why it is retired).
    plan = { from: config.secretKey ?? fileKey(true), to: generate(), destination: fresh(), fromSource: keySource(config) };
  }
  if (plan.from?.equals(plan.to)) throw new SecretKeyError(`${plan.fromSource} is the key in force already: nothing to rotate. Set STORECAST_SECRET_KEY to the new key, or leave STORECAST_OLD_SECRET_KEY unset to generate one.`);
  return plan;
}

export interface RotationResult {
  /** Live rows re-encrypted under the new key. */
  reencrypted: number;
  /** What they were: "2 webhook subscriptions and 1 alert rule". */
  what: string;
  /** Deleted rows whose encrypted values were dropped instead (never sent to again). */
  dropped: number;
}

/** Re-encrypts in one transaction; nothing changes if any row does not decrypt with `from`. */
async function reencrypt(db: Database, plan: RotationPlan): Promise<RotationResult> {
  return db.transaction(async (tx) => {
    // Writers wait (a row created meanwhile would be sealed with the old key); readers do not.
    await tx.exec(`LOCK TABLE ${ENCRYPTED_COLUMNS.map((t) => t.table).join(', ')} IN EXCLUSIVE MODE`);
    const rows = await encryptedRows(tx);
    if (rows.length && !plan.from) {
      throw new SecretKeyError(`${describeRows(rows)} are encrypted, but there is no key to decrypt them: set STORECAST_OLD_SECRET_KEY to the key they were encrypted with. Nothing was changed.`);
    }
    const unreadable = plan.from ? unreadableRows(plan.from, rows) : [];
    if (unreadable.length) {
      throw new SecretKeyError(`${plan.fromSource} does not decrypt ${unreadable.length} of ${describeRows(rows)} (${unreadable.slice(0, 10).join(', ')}): set STORECAST_OLD_SECRET_KEY to the key they were encrypted with. Nothing was changed.`);
    }
    for (const row of rows) {
      const sealed = sealRow(plan.to, row, decryptRow(plan.from!, row));
      const cols = row.table.columns.map((c) => c.name);
      await tx.query(`UPDATE ${row.table.table} SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`, [row.id, ...cols.map((c) => sealed[c])]);
    }
    // A deleted row's secret is never needed again; kept, it would stay under the old key.
    const dropped = await dropDeletedSecrets(tx);
    return { reencrypted: rows.length, what: describeRows(rows), dropped };
  });
}

/**
 * Runs a plan. A new key file is written beside the old one first and renamed over it only
 * after the commit: at every moment one of the two files holds the key the rows are under
 * (start-up names `secret.key.new` if a rotation stopped between the two steps).
 */
export async function rotateSecretKey(db: Database, plan: RotationPlan): Promise<RotationResult> {
  if (plan.destination.kind !== 'file') return reencrypt(db, plan);
  const { path } = plan.destination;
  const staged = `${path}.new`;
  writeKeyFile(staged, plan.to, false);
  let result: RotationResult;
  try {
    result = await reencrypt(db, plan);
  } catch (err) {
    rmSync(staged, { force: true });
    throw err;
  }
  renameSync(staged, path);
  return result;
}
