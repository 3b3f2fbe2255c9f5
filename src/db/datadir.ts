import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The embedded database's data directory: one process at a time, private to its owner.
 *
 * PGlite keeps its pages in the memory of the process that opened it and flushes them on its
 * own schedule, so a second process on the same directory (a CLI `tokens revoke` beside a
 * running `serve`) writes changes the first never sees and overwrites on its next flush — an
 * acknowledged revocation silently lost — or corrupts the directory outright. A lock file
 * holding the owner's pid keeps it to one process.
 *
 * Why not proper-lockfile: it judges staleness by the lock's mtime, which the holder refreshes
 * on a timer; an event loop busy for longer than the stale period (a training epoch, a large
 * import) gets the lock declared compromised and, by default, the process thrown out. Whether
 * the holder still runs is exactly what a pid tells (`kill(pid, 0)`), and the pid is what the
 * refusal message must name.
 */
export const LOCK_FILE = 'storecast.lock';

export interface LockHolder {
  pid: number;
  hostname: string;
  command: string;
  startedAt: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(lockedMessage(dataDir, holder));
    this.name = 'DataDirLockedError';
  }
}

function lockedMessage(dataDir: string, h: LockHolder | undefined): string {
  const lockPath = join(dataDir, LOCK_FILE);
  if (!h) return `The data directory ${dataDir} is locked by ${lockPath}, which is not a storecast lock file. If no storecast process uses ${dataDir}, delete that file and retry.`;
  const where = h.hostname === hostname() ? '' : ` on host ${h.hostname}`;
  return [
    `The data directory ${dataDir} is in use by process ${h.pid}${where} (storecast ${h.command}, since ${h.startedAt}).`,
    'The embedded database allows one process at a time: changes made beside it would be lost or corrupt the directory, so nothing was done.',
    `Stop process ${h.pid} and run this again, or leave it running and use its HTTP API (/api/v1) with a token`,
    '(`storecast access` and `storecast tokens` go through a running server by themselves),',
    'or set DATABASE_URL to a Postgres server, which several storecast processes can share.',
    `(If no storecast process ${h.pid} is running, delete ${lockPath}.)`,
  ].join('\n');
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    return Number.isInteger(h.pid) && typeof h.hostname === 'string' ? (h as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Dead only when it provably is: a pid on this host that no longer runs. */
const isStale = (h: LockHolder | undefined) => h !== undefined && h.hostname === hostname() && h.pid !== process.pid && !isRunning(h.pid);

const readIfExists = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

/** Creates the lock with its whole content at once (write aside, hard-link in): readers never see it half written. */
function tryCreate(path: string, content: string): boolean {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(aside, content, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(aside, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * Removes a dead holder's lock. Renaming it away is atomic, and the moved content tells whether
 * it was still the dead one: if another process took over in between, its live lock goes back.
 */
function removeStale(path: string, staleText: string): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (readFileSync(aside, 'utf8') !== staleText) {
    try {
      linkSync(aside, path);
    } catch {
      // A third process locked it meanwhile; ours will find that lock on the next attempt.
    }
  }
  rmSync(aside, { force: true });
}

export interface DataDirLock {
  release(): void;
}

/** Takes the directory's lock (over a dead holder's) or throws DataDirLockedError. */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, hostname: hostname(), command: process.argv.slice(2).join(' '), startedAt: new Date().toISOString() } satisfies LockHolder);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, mine)) {
      // A crash still leaves a dead pid (taken over next time); a normal exit removes it.
      const onExit = () => release();
      const release = () => {
        process.off('exit', onExit);
        if (readIfExists(path) === mine) rmSync(path, { force: true });
      };
      process.on('exit', onExit);
      return { release };
    }
    const text = readIfExists(path);
    if (text === undefined) continue;
    const holder = parseHolder(text);
    if (!isStale(holder)) throw new DataDirLockedError(dataDir, holder);
    removeStale(path, text);
  }
  throw new DataDirLockedError(dataDir, parseHolder(readIfExists(path) ?? ''));
}

const PRIVATE_DIR = 0o700;

/** Permissions are best effort (a directory shared on purpose may not be ours to change): warn, go on. */
function warnLoose(path: string, err: unknown): void {
  process.emitWarning(`could not make ${path} private to its owner (${(err as Error).message}); check its permissions`, 'StorecastDataDir');
}

/**
 * Creates the directory 0700, or tightens an existing one: the database, API token hashes and
 * the webhook key are nobody else's business. Files are tightened by `tightenFiles`.
 */
export function prepareDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR });
  if ((statSync(dataDir).mode & 0o777) === PRIVATE_DIR) return;
  try {
    chmodSync(dataDir, PRIVATE_DIR);
  } catch (err) {
    warnLoose(dataDir, err);
  }
}

/**
 * Drops group and other permissions below the directory. PGlite unpacks a new database with
 * 0666 files whatever the umask, and files it creates later follow the umask; this runs after
 * opening and after closing, so what stays on disk is owner-only.
 */
export function tightenFiles(dataDir: string): void {
  const root = resolve(dataDir);
  for (const entry of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    const path = join(root, entry);
    try {
      const stat = lstatSync(path);
      if (!stat.isSymbolicLink() && (stat.mode & 0o077) !== 0) chmodSync(path, stat.mode & 0o700);
    } catch (err) {
      // ENOENT: a temporary file removed meanwhile.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return warnLoose(path, err);
    }
  }
}
