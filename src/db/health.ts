/**
 * Whether the database can be reached now, known without waiting on it: /readyz, the HTTP
 * gate and the chat adapters answer "unavailable, try again shortly" at once from this, never
 * by queueing one more query behind a dead pool.
 */

/** What a 503 for a database away tells the caller: the outage is short or the pod is replaced. */
export const RETRY_AFTER_SECONDS = 5;

/** Refused by us rather than by the database: it was already known to be away. */
export class DatabaseUnavailableError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor() {
    super('The database is unavailable; try again shortly.');
  }
}

/** The driver's codes for a connection that is gone or never came (postgres.js). */
const DRIVER_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'DATABASE_UNAVAILABLE']);
/**
 * SQLSTATEs of a server that is going away or not taking connections: admin / crash shutdown,
 * cannot connect now (starting or stopping), too many connections, connection exceptions.
 */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
/** Socket errors: the database's only when the driver attached them to a query (outbound webhooks raise them too). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** True when `err`, or what it wraps (Drizzle's cause, Node's AggregateError), says the database is away. */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const { code, cause, errors } = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') {
    if (DRIVER_CODES.has(code) || SQLSTATES.has(code)) return true;
    if (SOCKET_CODES.has(code) && ('query' in err || depth > 0)) return true;
  }
  if (isDatabaseUnavailable(cause, depth + 1)) return true;
  return Array.isArray(errors) && errors.some((e) => isDatabaseUnavailable(e, depth + 1));
}

/** A probe that did not answer in time (as opposed to one the connection refused or lost). */
export class ProbeTimeoutError extends Error {
  constructor() {
    super('health probe timed out');
  }
}

/**
 * Slow probes in a row before the database counts as away. A refused or lost connection (a
 * stopped or restarting server) counts at once; slowness alone may be this replica's own load
 * (every request it serves competes with the probe's answer), and one slow probe turning a
 * busy replica into a wall of 503s is worse than the ~3 s a hung database takes to be named.
 */
const SLOW_PROBES_AWAY = 3;

/** What `withinDeadline` gives when the work did not finish in time. */
export const LATE = Symbol('late');

/**
 * `work`, or LATE when it has not settled within `ms`. A deadline timer that fires well after
 * it was due means this thread stalled (a training step or a large panel build on the serving
 * thread): the query may not even have been written yet, or its answer waits in the socket
 * behind the timer. Such a deadline is re-armed (a few times at most), so a busy replica does
 * not read a healthy database as away and refuse every request; a database that is really
 * away still misses the deadline once the thread runs freely.
 */
export async function withinDeadline<T>(work: Promise<T>, ms: number, rearms = 3): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    const arm = (left: number) => {
      const due = performance.now() + ms;
      timer = setTimeout(() => {
        const stalled = performance.now() - due > Math.max(50, ms / 4);
        if (stalled && left > 0) arm(left - 1);
        else resolve(LATE);
      }, ms);
    };
    arm(rearms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The pool as the server sees it: this process's connections, and how many run a statement. */
export interface PoolUsage {
  open: number;
  busy: number;
}

export interface HealthOptions {
  /** A probe round trip on a connection of its own; resolves with the pool's usage when known. */
  probe: () => Promise<PoolUsage | undefined>;
  /** Between probes while the database answers, and while it does not (faster, to come back soon). */
  upIntervalMs?: number;
  downIntervalMs?: number;
  /** A probe slower than this counts as a failure. */
  timeoutMs?: number;
}

export class DatabaseHealth {
  private isUp = true;
  private changedAt = Date.now();
  private usage: PoolUsage | undefined;
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private stopped = true;
  private readonly downListeners = new Set<() => void>();
  private readonly changeListeners: ((up: boolean, err?: unknown) => void)[] = [];
  private lastError: unknown;
  private slowProbes = 0;

  constructor(private readonly options: HealthOptions) {}

  /** Always up: an embedded database has no connection to lose. */
  static alwaysUp(): DatabaseHealth {
    return new DatabaseHealth({ probe: async () => undefined });
  }

  get up(): boolean {
    return this.isUp;
  }

  /** When `up` last changed. */
  get since(): Date {
    return new Date(this.changedAt);
  }

  get pool(): PoolUsage | undefined {
    return this.usage;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * A caller saw `err`: when it is a connection error, probe now (a stale pooled connection
   * after a restart fails once without the database being away). True when it was one.
   */
  report(err: unknown): boolean {
    if (!isDatabaseUnavailable(err)) return false;
    if (!this.stopped) this.schedule(0);
    return true;
  }

  /** Calls `listener` at every change of `up` (with the probe's error when it goes down): the log says it once. */
  onChange(listener: (up: boolean, err?: unknown) => void): void {
    this.changeListeners.push(listener);
  }

  /** Calls `listener` once, the next time the database is seen away; returns how to cancel. */
  onceDown(listener: () => void): () => void {
    this.downListeners.add(listener);
    return () => this.downListeners.delete(listener);
  }

  /** One probe, bounded by the timeout; concurrent callers share it. */
  check(): Promise<void> {
    this.probing ??= (async () => {
      const { timeoutMs = 1_000 } = this.options;
      const outcome = await withinDeadline(
        this.options.probe().then(
          (u) => ({ usage: u }),
          (err: unknown) => ((this.lastError = err), 'failed' as const),
        ),
        timeoutMs,
      );
      if (typeof outcome === 'object') {
        this.usage = outcome.usage;
        this.slowProbes = 0;
        return this.set(true);
      }
      const slow = outcome === LATE || this.lastError instanceof ProbeTimeoutError;
      if (slow && ++this.slowProbes < SLOW_PROBES_AWAY) return;
      if (outcome === LATE) this.lastError = new ProbeTimeoutError();
      this.set(false);
    })().finally(() => (this.probing = undefined));
    return this.probing;
  }

  private set(up: boolean): void {
    if (up === this.isUp) return;
    this.isUp = up;
    this.changedAt = Date.now();
    for (const l of this.changeListeners) l(up, up ? undefined : this.lastError);
    if (up) return;
    const listeners = [...this.downListeners];
    this.downListeners.clear();
    for (const l of listeners) l();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.check().finally(() => {
        const { upIntervalMs = 2_000, downIntervalMs = 500 } = this.options;
        if (!this.stopped) this.schedule(this.isUp && !this.slowProbes ? upIntervalMs : downIntervalMs);
      });
    }, ms);
    this.timer.unref();
  }
}
