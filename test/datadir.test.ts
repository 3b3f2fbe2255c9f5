import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { listTokens } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase, openPglite } from '../src/db/client.ts';
import { DataDirLockedError, LOCK_FILE } from '../src/db/datadir.ts';
import { createLogger } from '../src/logger.ts';
import { resolveSecretKey } from '../src/delivery/crypto.ts';

const bin = fileURLToPath(new URL('../bin/storecast.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'storecast-datadir-'));
let dirs = 0;
const freshDir = () => join(root, `data-${++dirs}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The real CLI on an embedded data directory (no DATABASE_URL). */
async function storecast(args: string[], dataDir: string, extraEnv: Record<string, string> = {}) {
  const env = { ...process.env, LOG_LEVEL: 'silent', STORECAST_DATA_DIR: dataDir, DATABASE_URL: '', ...extraEnv };
  try {
    // The timeout ends a process that should have been refused but went on (a second server).
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { env, timeout: 45_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const openDir = (dataDir: string) => openDatabase({ database: { kind: 'pglite', dataDir } });
const mode = (path: string) => statSync(path).mode & 0o777;

/** Every path below `dir` whose mode lets group or others in. */
const looseFiles = (dir: string) =>
  (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).filter((p) => (statSync(join(dir, p)).mode & 0o077) !== 0);

/** A pid that certainly ran on this host and has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

function expectRefusedBy(r: { code: number; stdout: string; stderr: string }, pid: number) {
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain(`in use by process ${pid}`);
  expect(r.stderr).toMatch(/Stop process \d+/);
  expect(r.stderr).toMatch(/DATABASE_URL/);
}

describe('one process per embedded data directory', () => {
  it('refuses CLI writes and reads while another process holds the directory, and writes nothing', async () => {
    const dataDir = freshDir();
    let db = await openDir(dataDir);
    try {
      const created = await storecast(['tokens', 'create', '--scope', 'admin', '--name', 'sneaky'], dataDir);
      expectRefusedBy(created, process.pid);
      expect(created.code).toBe(3);
      expectRefusedBy(await storecast(['tokens', 'revoke', 'sc_abcdefgh'], dataDir), process.pid);
      expectRefusedBy(await storecast(['stats', '--json'], dataDir), process.pid);
      // The holder's own lock is untouched by the refused processes.
      expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() });
    } finally {
      await db.close();
    }
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    db = await openDir(dataDir);
    try {
      expect(await listTokens(db)).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('a second open in the same process is refused too', async () => {
    const dataDir = freshDir();
    const db = await openPglite(dataDir);
    try {
      const second = openPglite(dataDir);
      await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
      await expect(second).rejects.toThrow(`in use by process ${process.pid}`);
    } finally {
      await db.close();
    }
  });

  it('a running `storecast serve` refuses the CLI and a second server; after it stops the CLI works', async () => {
    const dataDir = freshDir();
    const env = { ...process.env, LOG_LEVEL: 'info', STORECAST_DATA_DIR: dataDir, DATABASE_URL: '', PORT: '0', HOST: '127.0.0.1', STORECAST_DEMO: 'never', STORECAST_TRAIN_ON_START: 'false' };
    const server = spawn(process.execPath, [bin, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await waitForLog(server, 'database ready');
      // A command with no API to go through (tokens and grants go through the server: test/operator.test.ts).
      expectRefusedBy(await storecast(['deliveries'], dataDir), server.pid!);
      const second = await storecast(['serve'], dataDir, { PORT: '0', HOST: '127.0.0.1' });
      expect(second.code).toBe(3);
      expect(second.stderr).toContain(`in use by process ${server.pid}`);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    const created = await storecast(['tokens', 'create', '--scope', 'ingest', '--json'], dataDir);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ scopes: ['ingest'] });
  }, 180_000);

  it("takes over the lock of a process that died without releasing it", async () => {
    const dataDir = freshDir();
    mkdirSync(dataDir, { mode: 0o700 });
    const stale = { pid: deadPid(), hostname: hostname(), command: 'serve', startedAt: '2026-01-01T00:00:00.000Z' };
    writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify(stale));
    const db = await openPglite(dataDir);
    try {
      expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    } finally {
      await db.close();
    }
    // The CLI takes one over as well, and removes its own on exit.
    writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify({ ...stale, pid: deadPid() }));
    const r = await storecast(['tokens', 'create', '--scope', 'query', '--json'], dataDir);
    expect(r.code).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  });

  it('refuses a lock file it cannot read rather than guessing', async () => {
    const dataDir = freshDir();
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(join(dataDir, LOCK_FILE), 'not json');
    await expect(openPglite(dataDir)).rejects.toThrow(/not a storecast lock file.*delete that file/);
    expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8')).toBe('not json');
  });
});

describe('data directory permissions', () => {
  it('creates the directory 0700 with no group- or world-readable files', async () => {
    const dataDir = join(freshDir(), 'nested');
    const db = await openPglite(dataDir);
    try {
      expect(mode(dataDir)).toBe(0o700);
      expect(looseFiles(dataDir)).toEqual([]);
      await db.exec('CREATE TABLE t (a int); INSERT INTO t VALUES (1)');
    } finally {
      await db.close();
    }
    expect(looseFiles(dataDir)).toEqual([]);
  });

  it('tightens an existing directory and the files in it', async () => {
    const dataDir = freshDir();
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'left-over'), 'x', { mode: 0o644 });
    chmodSync(join(dataDir, 'left-over'), 0o666);
    const db = await openPglite(dataDir);
    await db.close();
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'left-over'))).toBe(0o600);
  });

  it('the webhook key generated beside the database is 0600', async () => {
    const dataDir = freshDir();
    const db = await openPglite(dataDir);
    try {
      resolveSecretKey(loadConfig({ STORECAST_DATA_DIR: dataDir }), createLogger('silent'));
    } finally {
      await db.close();
    }
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'secret.key'))).toBe(0o600);
    expect(looseFiles(dataDir)).toEqual([]);
  });
});

/** Resolves when the child's pino log (stderr) has a line with this `msg`; rejects if it exits or takes 2 minutes. */
function waitForLog(child: ChildProcess, msg: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "${msg}" within 2 minutes:\n${out}`)), 120_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(`"msg":"${msg}"`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before "${msg}":\n${out}`));
    });
  });
}
