import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { backoffMs } from '../util/retry.ts';

export type AdapterState = 'connecting' | 'connected' | 'retrying' | 'stopped';

export interface AdapterStatus {
  state: AdapterState;
  since: string;
  attempts: number;
  lastError?: string;
}

/** A started connection: how to close it. */
export interface Connection {
  stop(): Promise<void>;
}

export interface SupervisorOptions {
  logger: Logger;
  metrics?: Pick<Metrics, 'adapterUp'>;
  /** First wait after a failed connection attempt, then doubling up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Connects the platform adapters that hold a connection (Slack Socket Mode, the Discord
 * gateway) in the background, each retried with logged, bounded backoff. Readiness depends on
 * the database and data only: a platform outage takes down that platform's answers, never
 * the server, the other platform, webhooks or the console.
 */
export class AdapterSupervisor {
  private readonly status = new Map<string, AdapterStatus>();
  private readonly connections = new Map<string, Connection>();
  private readonly wakers = new Set<() => void>();
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly options: SupervisorOptions) {}

  /** Starts connecting `name` with `connect` until it succeeds or the supervisor stops. */
  add(name: string, connect: (report: (state: AdapterState) => void) => Promise<Connection>): void {
    this.set(name, { state: 'connecting', attempts: 0 });
    this.loops.push(this.run(name, connect));
  }

  /** Each adapter's state, for /healthz. */
  snapshot(): Record<string, AdapterStatus> {
    return Object.fromEntries(this.status);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.connections.values()].map((c) => c.stop()));
    for (const name of this.status.keys()) this.set(name, { state: 'stopped' });
  }

  private async run(name: string, connect: (report: (state: AdapterState) => void) => Promise<Connection>): Promise<void> {
    const { logger, baseDelayMs = 1_000, maxDelayMs = 300_000 } = this.options;
    const log = logger.child({ adapter: name });
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        // The adapter reports later state changes (a dropped and re-established connection).
        const connection = await connect((state) => this.set(name, { state }));
        if (this.stopped) {
          await connection.stop();
          return;
        }
        this.connections.set(name, connection);
        this.set(name, { state: 'connected', attempts: attempt, lastError: undefined });
        log.info({ attempt }, `${name}: connected`);
        return;
      } catch (err) {
        const wait = backoffMs(attempt, baseDelayMs, maxDelayMs);
        const message = err instanceof Error ? err.message : String(err);
        this.set(name, { state: 'retrying', attempts: attempt, lastError: message.slice(0, 300) });
        log.warn({ attempt, retryInMs: wait, err: message }, `${name}: cannot connect; retrying`);
        await this.sleep(wait);
      }
    }
  }

  private set(name: string, update: Partial<AdapterStatus> & { state: AdapterState }): void {
    const previous = this.status.get(name);
    const changed = previous?.state !== update.state;
    this.status.set(name, { attempts: 0, ...previous, ...update, since: changed || !previous ? new Date().toISOString() : previous.since });
    this.options.metrics?.adapterUp.set({ adapter: name }, update.state === 'connected' ? 1 : 0);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}
