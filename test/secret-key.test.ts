import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import type { Database } from '../src/db/client.ts';
import { openDatabase } from '../src/db/client.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/server.ts';
import { keyWeakness } from '../src/util/key-strength.ts';
import { resolveSecretKey, SecretKeyError } from '../src/delivery/crypto.ts';
import { planRotation, rotateSecretKey } from '../src/delivery/rotate.ts';
import { openSecretKey } from '../src/delivery/secret-key.ts';
import { sealTargetSecrets, targetSecrets } from '../src/delivery/crypto.ts';
import type { SubscriptionRow } from '../src/delivery/summaries/subscriptions.ts';
import { createTestDatabase, DB_KINDS, type TestDatabase } from './helpers/db.ts';

/** Issue #9, item 12: weak keys, a lost or changed key, and `storecast secret rotate`. */

const quiet = createLogger('silent');
const hex = (b: Buffer) => b.toString('hex');
const URL_OF = (id: string) => `https://hooks.slack.com/services/T0/B0/${id}`;

/** A URL subscription sealed with `key`, as createSubscription stores it (generic: with a signing secret). */
async function insertSubscription(db: Database, key: Buffer, id: string, options: { deleted?: boolean; generic?: boolean } = {}): Promise<void> {
  const sealed = sealTargetSecrets(key, id, { url: URL_OF(id), ...(options.generic ? { signingSecret: `whsec_${id}` } : {}) });
  await db.query(
    `INSERT INTO webhook_subscriptions (id, scope_kind, target_kind, target_secret, target_hint, signing_secret, weekday, time, timezone, next_run_at, deleted_at)
     VALUES ($1, 'chain', $2, $3, 'hooks.slack.com/…', $4, 1, '08:00', 'UTC', now(), $5)`,
    [id, options.generic ? 'generic' : 'slack-webhook', sealed.target_secret, sealed.signing_secret, options.deleted ? new Date().toISOString() : null],
  );
}

async function rows(db: Database): Promise<SubscriptionRow[]> {
  return db.query<SubscriptionRow>('SELECT * FROM webhook_subscriptions ORDER BY id');
}

describe('weak keys are refused', () => {
  const weak: [string, string, RegExp][] = [
    ['43 x "a" (base64)', 'a'.repeat(43), /only 3 distinct byte values/],
    ['64 x "0" (hex)', '0'.repeat(64), /only 1 distinct byte value /],
    ['a 16-character block repeated', '0123456789abcdef'.repeat(4), /only 8 distinct byte values/],
    ['a counting sequence', Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex'), /follow a pattern/],
    ['a passphrase', Buffer.from('correct horse battery staple 42!').toString('base64'), /is text/],
  ];

  it.each(weak)('STORECAST_SECRET_KEY = %s: a config error naming the rule and the remedy, not the key', (_, value, reason) => {
    let error: unknown;
    try {
      loadConfig({ STORECAST_SECRET_KEY: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/STORECAST_SECRET_KEY=.*is too weak to encrypt webhook URLs/);
    expect(message).toMatch(reason);
    expect(message).toMatch(/openssl rand -hex 32/);
    expect(message).toMatch(/STORECAST_OLD_SECRET_KEY=<this key> .*storecast secret rotate/);
    expect(message).not.toContain(value);
  });

  it('accepts random keys (hex and base64); the retiring key may be weak', () => {
    for (let i = 0; i < 2000; i++) expect(keyWeakness(randomBytes(32))).toBeUndefined();
    const key = randomBytes(32);
    expect(loadConfig({ STORECAST_SECRET_KEY: hex(key) }).secretKey).toEqual(key);
    expect(loadConfig({ STORECAST_SECRET_KEY: key.toString('base64') }).secretKey).toEqual(key);
    expect(loadConfig({ STORECAST_OLD_SECRET_KEY: '0'.repeat(64) }).oldSecretKey).toEqual(Buffer.alloc(32));
    expect(() => loadConfig({ STORECAST_OLD_SECRET_KEY: 'short' })).toThrow(/STORECAST_OLD_SECRET_KEY=\(5 characters, not shown\): must be 32 bytes/);
  });

  it('a weak key file is refused too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'storecast-key-'));
    try {
      writeFileSync(join(dir, 'secret.key'), `${'0'.repeat(64)}\n`);
      expect(() => resolveSecretKey(loadConfig({ STORECAST_DATA_DIR: dir }))).toThrow(SecretKeyError);
      expect(() => resolveSecretKey(loadConfig({ STORECAST_DATA_DIR: dir }))).toThrow(/holds a weak key: it has only 1 distinct byte value.*storecast secret rotate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(DB_KINDS)('the key against the stored subscriptions (%s)', (kind) => {
  let t: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t?.cleanup());
  beforeEach(async () => {
    await t.db.exec('DELETE FROM webhook_subscriptions');
    // The embedded mode's key file lives here; the database itself is the test database.
    dir = mkdtempSync(join(tmpdir(), 'storecast-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const embedded = (env: Record<string, string> = {}) => loadConfig({ STORECAST_DATA_DIR: dir, ...env });
  const shared = (env: Record<string, string> = {}) => loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db', ...env });
  const keyFile = () => join(dir, 'secret.key');

  it('with no encrypted subscriptions the embedded mode generates its key file as before', async () => {
    const key = await openSecretKey(embedded(), t.db, quiet);
    expect(key).toHaveLength(32);
    expect(readFileSync(keyFile(), 'utf8').trim()).toBe(hex(key!));
    expect(await openSecretKey(shared(), t.db, quiet)).toBeUndefined();
  });

  it('a missing key file while encrypted subscriptions exist is an error, and no new key is made', async () => {
    const key = (await openSecretKey(embedded(), t.db, quiet))!;
    await insertSubscription(t.db, key, 'sub_a');
    rmSync(keyFile());
    await expect(openSecretKey(embedded(), t.db, quiet)).rejects.toThrow(SecretKeyError);
    await expect(openSecretKey(embedded(), t.db, quiet)).rejects.toThrow(
      new RegExp(`1 webhook subscription store webhook URLs encrypted at rest, but there is no key to decrypt them: STORECAST_SECRET_KEY is not set and ${keyFile().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist. Restore`),
    );
    expect(existsSync(keyFile())).toBe(false);
    await expect(openSecretKey(shared(), t.db, quiet)).rejects.toThrow(/STORECAST_SECRET_KEY is not set\. Set STORECAST_SECRET_KEY to the key they were encrypted with/);
    writeFileSync(keyFile(), `${hex(key)}\n`);
    expect(await openSecretKey(embedded(), t.db, quiet)).toEqual(key);
  });

  it('a changed key is an error naming the subscriptions and the way out', async () => {
    const key = randomBytes(32);
    await insertSubscription(t.db, key, 'sub_a');
    await insertSubscription(t.db, key, 'sub_b', { generic: true });
    await insertSubscription(t.db, randomBytes(32), 'sub_gone', { deleted: true });
    const other = hex(randomBytes(32));
    await expect(openSecretKey(shared({ STORECAST_SECRET_KEY: other }), t.db)).rejects.toThrow(
      /^STORECAST_SECRET_KEY does not decrypt the 2 webhook subscriptions stored \(sub_a, sub_b\): the key changed .*STORECAST_OLD_SECRET_KEY=<previous key> storecast secret rotate/,
    );
    writeFileSync(keyFile(), `${other}\n`);
    await expect(openSecretKey(embedded(), t.db)).rejects.toThrow(/secret\.key does not decrypt the 2 webhook subscriptions stored/);
    // Deleted subscriptions are never decrypted again, so they do not count.
    expect(await openSecretKey(shared({ STORECAST_SECRET_KEY: hex(key) }), t.db)).toEqual(key);
    // One subscription under another key (a key regenerated before this check existed).
    await insertSubscription(t.db, randomBytes(32), 'sub_c');
    await expect(openSecretKey(shared({ STORECAST_SECRET_KEY: hex(key) }), t.db)).rejects.toThrow(/^1 of 3 webhook subscriptions do not decrypt with STORECAST_SECRET_KEY: sub_c\./);
  });

  it('rotate, embedded: re-encrypts every subscription under a new key file in one step; deleted ones drop their URL', async () => {
    const key = (await openSecretKey(embedded(), t.db, quiet))!;
    await insertSubscription(t.db, key, 'sub_a');
    await insertSubscription(t.db, key, 'sub_b', { generic: true });
    await insertSubscription(t.db, key, 'sub_gone', { deleted: true });
    const plan = planRotation(embedded());
    expect(plan.destination).toEqual({ kind: 'file', path: keyFile() });
    expect(await rotateSecretKey(t.db, plan)).toEqual({ reencrypted: 2, what: '2 webhook subscriptions', dropped: 1 });
    const fresh = Buffer.from(readFileSync(keyFile(), 'utf8').trim(), 'hex');
    expect(fresh).toEqual(plan.to);
    expect(fresh.equals(key)).toBe(false);
    expect(statSync(keyFile()).mode & 0o777).toBe(0o600);
    expect(existsSync(`${keyFile()}.new`)).toBe(false);
    const [a, b, gone] = await rows(t.db);
    expect(targetSecrets(fresh, a!)).toEqual({ url: URL_OF('sub_a') });
    expect(targetSecrets(fresh, b!)).toEqual({ url: URL_OF('sub_b'), signingSecret: 'whsec_sub_b' });
    expect(() => targetSecrets(key, a!)).toThrow();
    expect(gone).toMatchObject({ target_secret: null, signing_secret: null });
    expect(await openSecretKey(embedded(), t.db)).toEqual(fresh);
  });

  it('rotate, STORECAST_SECRET_KEY / DATABASE_URL: the new key is for the operator to set', async () => {
    const key = randomBytes(32);
    await insertSubscription(t.db, key, 'sub_a');
    const plan = planRotation(shared({ STORECAST_SECRET_KEY: hex(key) }));
    expect(plan.destination).toEqual({ kind: 'print' });
    await rotateSecretKey(t.db, plan);
    expect(await openSecretKey(shared({ STORECAST_SECRET_KEY: hex(plan.to) }), t.db)).toEqual(plan.to);
    // An embedded database with STORECAST_SECRET_KEY set: the variable is the key, no file is written.
    expect(planRotation(embedded({ STORECAST_SECRET_KEY: hex(plan.to) })).destination).toEqual({ kind: 'print' });
    expect(existsSync(keyFile())).toBe(false);
  });

  it('rotate with STORECAST_OLD_SECRET_KEY moves subscriptions off a weak or changed key to the key in force', async () => {
    const weak = Buffer.alloc(32, 7);
    await insertSubscription(t.db, weak, 'sub_a');
    const next = randomBytes(32);
    const config = shared({ STORECAST_OLD_SECRET_KEY: hex(weak), STORECAST_SECRET_KEY: hex(next) });
    await expect(openSecretKey(config, t.db)).rejects.toThrow(SecretKeyError);
    const plan = planRotation(config);
    expect(plan).toMatchObject({ from: weak, to: next, destination: { kind: 'configured' } });
    expect(await rotateSecretKey(t.db, plan)).toEqual({ reencrypted: 1, what: '1 webhook subscription', dropped: 0 });
    expect(await openSecretKey(config, t.db)).toEqual(next);
    expect(() => planRotation(shared({ STORECAST_OLD_SECRET_KEY: hex(next), STORECAST_SECRET_KEY: hex(next) }))).toThrow(/is the key in force already/);
  });

  it('rotate changes nothing when any subscription does not decrypt with the old key', async () => {
    const key = (await openSecretKey(embedded(), t.db, quiet))!;
    await insertSubscription(t.db, key, 'sub_a');
    await insertSubscription(t.db, randomBytes(32), 'sub_b');
    const before = await rows(t.db);
    const plan = planRotation(embedded());
    await expect(rotateSecretKey(t.db, plan)).rejects.toThrow(/secret\.key does not decrypt 1 of 2 webhook subscriptions \(sub_b\).*Nothing was changed/);
    expect(await rows(t.db)).toEqual(before);
    expect(readFileSync(keyFile(), 'utf8').trim()).toBe(hex(key));
    expect(existsSync(`${keyFile()}.new`)).toBe(false);
  });
});

describe('storecast serve with a lost key file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'storecast-serve-key-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start, says what to do, generates nothing; starts once the file is back', async () => {
    const config = loadConfig({ STORECAST_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent', STORECAST_DEMO: 'never', STORECAST_TRAIN_ON_START: 'false' });
    const db = await openDatabase(config);
    const key = (await openSecretKey(config, db, quiet))!;
    await insertSubscription(db, key, 'sub_a');
    await db.close();
    const path = join(dir, 'secret.key');
    rmSync(path);
    await expect(startServer(config, quiet)).rejects.toThrow(/no key to decrypt them: STORECAST_SECRET_KEY is not set and .*secret\.key does not exist/);
    expect(existsSync(path)).toBe(false);
    writeFileSync(path, `${hex(key)}\n`, { mode: 0o600 });
    // The refused start released the data directory and the port: a second start works.
    const running = await startServer(config, quiet);
    await running.ready;
    await running.stop();
  }, 60_000);
});

describe('the storecast CLI', () => {
  const bin = fileURLToPath(new URL('../bin/storecast.js', import.meta.url));
  let dir: string;
  let key: Buffer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'storecast-cli-key-'));
    const db = await openDatabase(loadConfig({ STORECAST_DATA_DIR: dir }));
    key = (await openSecretKey(loadConfig({ STORECAST_DATA_DIR: dir }), db, quiet))!;
    await insertSubscription(db, key, 'sub_a');
    await db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function storecast(args: string[], env: Record<string, string>) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STORECAST_') && k !== 'DATABASE_URL'));
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { env: { ...clean, LOG_LEVEL: 'silent', ...env } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('serve exits 2 with one line saying what to do when the key file is gone', async () => {
    const path = join(dir, 'secret.key');
    rmSync(path);
    try {
      const r = await storecast(['serve'], { STORECAST_DATA_DIR: dir, PORT: '0', STORECAST_DEMO: 'never', STORECAST_TRAIN_ON_START: 'false' });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: 1 webhook subscription store webhook URLs encrypted at rest, but there is no key to decrypt them: .*Restore .*secret\.key from the backup/);
      expect(existsSync(path)).toBe(false);
    } finally {
      writeFileSync(path, `${hex(key)}\n`, { mode: 0o600 });
    }
  }, 60_000);

  it('secret rotate: writes the new key file in the embedded mode', async () => {
    const r = await storecast(['secret', 'rotate', '--json'], { STORECAST_DATA_DIR: dir });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ reencrypted: 1, what: '1 webhook subscription', dropped: 0, keyFile: join(dir, 'secret.key') });
    const fresh = Buffer.from(readFileSync(join(dir, 'secret.key'), 'utf8').trim(), 'hex');
    expect(fresh.equals(key)).toBe(false);
  }, 60_000);

  it('secret rotate: prints the new key once with DATABASE_URL', async () => {
    const t = await createTestDatabase('postgres');
    try {
      const old = randomBytes(32);
      await insertSubscription(t.db, old, 'sub_a');
      const r = await storecast(['secret', 'rotate'], { DATABASE_URL: t.url!, STORECAST_SECRET_KEY: hex(old) });
      expect(r.code).toBe(0);
      const printed = /New STORECAST_SECRET_KEY \(shown once\): ([0-9a-f]{64})\n/.exec(r.stdout)?.[1];
      expect(printed).toBeDefined();
      expect(r.stdout).toMatch(/every replica/);
      const [row] = await rows(t.db);
      expect(targetSecrets(Buffer.from(printed!, 'hex'), row!)).toEqual({ url: URL_OF('sub_a') });
      const weak = await storecast(['secret', 'rotate'], { DATABASE_URL: t.url!, STORECAST_SECRET_KEY: '0'.repeat(64) });
      expect(weak.code).toBe(2);
      expect(weak.stderr).toMatch(/STORECAST_SECRET_KEY=\(64 characters, not shown\): is too weak/);
    } finally {
      await t.cleanup();
    }
  }, 60_000);
});
