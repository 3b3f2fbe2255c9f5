/**
 * The fault suite's moving parts (test/faults.test.ts asserts, bench/faults.ts measures): a
 * throwaway Postgres cluster of its own (initdb in a temp dir, random port), `storecast serve`
 * replicas as child processes, a running ingest load, and a round-robin proxy that routes
 * only to replicas whose /readyz says ready, as a Kubernetes Service does.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const STORECAST = fileURLToPath(new URL('../../bin/storecast.js', import.meta.url));
const run = promisify(execFile);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A Postgres cluster in a temp dir, run as the postgres user: restarting it touches nothing else. */
export class Cluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<Cluster> {
    const dir = mkdtempSync(join(tmpdir(), 'storecast-faults-'));
    // initdb refuses to run as root; the cluster belongs to the postgres user.
    if (process.getuid?.() === 0) chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim()));
    const cluster = new Cluster(dir, await freePort());
    await cluster.pg('initdb', ['-D', cluster.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await cluster.start();
    return cluster;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private async pg(tool: string, args: string[]): Promise<void> {
    const cmd = join(PG_BIN, tool);
    if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', cmd, ...args]);
    else await run(cmd, args);
  }

  private ctl(action: string, extra: string[] = []): Promise<void> {
    const opts = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c max_connections=200`;
    return this.pg('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'postgres.log'), '-w', '-t', '60', '-o', opts, ...extra, action]);
  }

  start(): Promise<void> {
    return this.ctl('start');
  }

  /** Fast mode: sessions are ended (57P01) and transactions in flight roll back. */
  restart(): Promise<void> {
    return this.ctl('restart', ['-m', 'fast']);
  }

  stop(): Promise<void> {
    return this.ctl('stop', ['-m', 'fast']);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One `storecast serve` process. */
export class Replica {
  exit: { code: number | null; signal: string | null } | undefined;
  readonly log: string[] = [];
  private proc: ChildProcess | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(): void {
    this.exit = undefined;
    const proc = spawn(process.execPath, [STORECAST, 'serve'], {
      env: { ...process.env, HOST: '127.0.0.1', PORT: String(this.port), LOG_FORMAT: 'json', LOG_LEVEL: 'warn', STORECAST_TRAIN_ON_START: 'false', ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr!.on('data', (d: Buffer) => this.log.push(...d.toString().split('\n').filter(Boolean)));
    proc.on('exit', (code, signal) => (this.exit = { code, signal }));
    this.proc = proc;
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    await until(`${this.name} ready`, async () => this.exit === undefined && (await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status === 200, () => false)), timeoutMs, 200);
  }

  signal(signal: NodeJS.Signals): void {
    this.proc?.kill(signal);
  }

  async exited(timeoutMs = 60_000): Promise<{ code: number | null; signal: string | null }> {
    return until(`${this.name} to exit`, () => this.exit, timeoutMs, 50);
  }

  /** Log lines of a crash (the driver defect's TypeError, or any uncaught error). */
  crashes(): string[] {
    return this.log.filter((l) => /storecast crashed|Cannot read properties of null|uncaught/i.test(l));
  }
}

export interface CallOutcome {
  at: number;
  ms: number;
  status: number; // 0: no answer (connection refused, reset or timed out)
  retryAfter: boolean;
  /** For a call other than 200: the start of its body, or the client's error, so a red run says what failed. */
  detail?: string;
}

/**
 * Ingest calls from `workers` concurrent callers, each POST a few rows no other call sends:
 * a row is acknowledged when its call answered 200 with every row accepted.
 */
export class IngestLoad {
  readonly acked: string[] = [];
  readonly calls: CallOutcome[] = [];
  private next = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly targets: () => string[],
    private readonly token: string,
    private readonly options: { workers?: number; rows?: number; timeoutMs?: number; tag: number },
  ) {}

  start(): void {
    this.running = true;
    for (let w = 0; w < (this.options.workers ?? 8); w++) this.loops.push(this.worker(w));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops.splice(0));
  }

  /** Distinct (store, dept, week) per row: stores 1-3, departments from 100. */
  private rows(): { key: string; row: { store: number; dept: number; week: string; sales: number; isHoliday: boolean } }[] {
    return Array.from({ length: this.options.rows ?? 5 }, () => {
      const i = this.next++;
      const store = 1 + (i % 3);
      const dept = 100 + (Math.floor(i / 3) % 9000);
      // Fridays from 2013-01-04 (weeks end on Friday); each load's `tag` has ten weeks of its own.
      const week = new Date(Date.UTC(2013, 0, 4) + (this.options.tag * 10 + Math.floor(i / 27_000)) * 7 * 86_400_000).toISOString().slice(0, 10);
      return { key: `${store}/${dept}/${week}`, row: { store, dept, week, sales: 100 + (i % 1000), isHoliday: false } };
    });
  }

  private async worker(w: number): Promise<void> {
    while (this.running) {
      const targets = this.targets();
      const base = targets[(w + this.calls.length) % targets.length]!;
      const batch = this.rows();
      const started = Date.now();
      let status = 0;
      let retryAfter = false;
      let detail: string | undefined;
      try {
        const res = await fetch(`${base}/api/v1/sales`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ rows: batch.map((b) => b.row) }),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 20_000),
        });
        status = res.status;
        retryAfter = res.headers.has('retry-after');
        const text = await res.text();
        const body = (() => {
          try {
            return JSON.parse(text) as { accepted?: number };
          } catch {
            return {};
          }
        })();
        if (status === 200 && body.accepted === batch.length) this.acked.push(...batch.map((b) => b.key));
        else detail = text.slice(0, 300);
      } catch (err) {
        status = 0;
        detail = `${(err as Error).name}: ${(err as Error).message}; cause ${String((err as { cause?: unknown }).cause)}`;
      }
      this.calls.push({ at: started, ms: Date.now() - started, status, retryAfter, detail });
      // A refused call is retried after a pause, as a client honouring Retry-After would (shortened).
      if (status !== 200) await sleep(200);
    }
  }
}

/** /readyz of each replica every `everyMs`, with the answer's status and time. */
export class ReadyWatch {
  readonly samples: { replica: string; at: number; ms: number; status: number; detail?: string }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly replicas: Replica[]) {}

  start(everyMs = 250): void {
    this.timer = setInterval(() => {
      for (const r of this.replicas) {
        const at = Date.now();
        void fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(5_000) }).then(
          async (res) => this.samples.push({ replica: r.name, at, ms: Date.now() - at, status: res.status, detail: res.status === 503 ? undefined : (await res.text()).slice(0, 200) }),
          (err: Error) => this.samples.push({ replica: r.name, at, ms: Date.now() - at, status: 0, detail: `${err.name}: ${err.message}` }),
        );
      }
    }, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Round-robin over the replicas /readyz calls ready (polled every 200 ms, as an endpoints
 * controller drops a pod whose readiness fails). No retries: a request sent to a replica that
 * then fails it is a failed request, as through a Kubernetes Service.
 */
/**
 * Polls in a row that must fail before the proxy stops routing to a replica: the chain's
 * readinessProbe has failureThreshold 2. Dropping a replica on one slow poll made a loaded
 * machine's proxy drop the only ready one and answer 503 itself ("no ready replica").
 */
const FAILURE_THRESHOLD = 2;

export class ReadyProxy {
  private readonly ready = new Set<Replica>();
  private readonly misses = new Map<Replica, number>();
  /** One poll per replica at a time, as a kubelet probes: a slow answer is not counted twice. */
  private readonly polling = new Set<Replica>();
  private turn = 0;
  private server: Server | undefined;
  private poll: NodeJS.Timeout | undefined;
  failures = 0;
  answered = 0;

  constructor(private readonly replicas: Replica[]) {}

  async listen(): Promise<string> {
    this.poll = setInterval(() => {
      for (const r of this.replicas) {
        if (this.polling.has(r)) continue;
        this.polling.add(r);
        void fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(1_000) })
          .then((res) => res.status === 200, () => false)
          .then((ok) => {
            this.polling.delete(r);
            const misses = ok ? 0 : (this.misses.get(r) ?? 0) + 1;
            this.misses.set(r, misses);
            if (ok) this.ready.add(r);
            else if (misses >= FAILURE_THRESHOLD) this.ready.delete(r);
          });
      }
    }, 200);
    this.server = createServer((req, res) => this.forward(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const pool = this.replicas.filter((r) => this.ready.has(r));
    if (!pool.length) {
      this.failures++;
      res.writeHead(503).end('no ready replica');
      return;
    }
    const target = pool[this.turn++ % pool.length]!;
    const upstream = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false }, (up) => {
      this.answered++;
      if (up.statusCode! >= 500) this.failures++;
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => {
      this.failures++;
      if (!res.headersSent) res.writeHead(502).end('upstream failed');
    });
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    clearInterval(this.poll);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The pid holding a TCP connection to 127.0.0.1:`port` (the replica that is delivering). */
export async function pidConnectedTo(port: number): Promise<number | undefined> {
  const { stdout } = await run('ss', ['-tnpH', 'state', 'established', 'dst', `127.0.0.1:${port}`]);
  const m = /pid=(\d+)/.exec(stdout);
  return m ? Number(m[1]) : undefined;
}
