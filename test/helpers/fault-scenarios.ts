/**
 * The fault scenarios of issue 21, measured. test/faults.test.ts runs them a few times and
 * asserts; bench/faults.ts runs them more and prints the figures.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { createToken } from '../../src/auth/tokens.ts';
import { importRecords } from '../../src/data/import.ts';
import { migrate, openPostgres, type Database } from '../../src/db/client.ts';
import { createOutbound } from '../../src/net/outbound.ts';
import { createSubscription } from '../../src/delivery/index.ts';
import { TEST_SECRET_KEY, TEST_SECRET_KEY_HEX } from './keys.ts';
import { Cluster, IngestLoad, ReadyProxy, ReadyWatch, Replica, freePort, pidConnectedTo, sleep, until } from './faults.ts';
import { OPERATOR_DELIVERY } from './delivery.ts';

export interface Rig {
  cluster: Cluster;
  db: Database;
  replicas: Replica[];
  token: string;
  close(): Promise<void>;
}

/** Three stores, three departments, 110 weeks: what a weekly summary and /readyz need. */
async function seed(db: Database): Promise<void> {
  await db.exec("INSERT INTO stores (store_id, type, size, region) VALUES (1, 'A', 150000, 'West'), (2, 'B', 90000, 'West'), (3, 'A', 120000, 'East')");
  const rows: string[][] = [];
  for (const store of [1, 2, 3]) {
    for (const dept of [1, 2, 3]) {
      for (let i = 0; i < 110; i++) {
        const week = new Date(Date.UTC(2010, 1, 5) + i * 7 * 86_400_000).toISOString().slice(0, 10);
        rows.push([String(store), String(dept), week, (1000 * store + 200 * dept + 300 * Math.sin((2 * Math.PI * i) / 52)).toFixed(2), 'FALSE']);
      }
    }
  }
  await importRecords(db, 'train', 'faults', [rows]);
}

/** A cluster of its own, a migrated and seeded database, an ingest token and `count` ready replicas. */
export async function createRig(count = 2, env: Record<string, string> = {}): Promise<Rig> {
  const cluster = await Cluster.create();
  const admin = postgres(cluster.url(), { max: 1, onnotice: () => {} });
  await admin`CREATE DATABASE storecast`;
  await admin.end();
  const url = cluster.url('storecast');
  const db = await openPostgres(url, { max: 4 });
  await migrate(db, url);
  await seed(db);
  const { token } = await createToken(db, { name: 'faults', scopes: ['ingest'] });
  const replicaEnv = { DATABASE_URL: url, STORECAST_SECRET_KEY: TEST_SECRET_KEY_HEX, STORECAST_OUTBOUND_ALLOW: '127.0.0.1', STORECAST_DRAIN_SECONDS: '2', ...env };
  const replicas: Replica[] = [];
  for (let i = 0; i < count; i++) replicas.push(new Replica(String.fromCharCode(65 + i), await freePort(), replicaEnv));
  for (const r of replicas) r.start();
  await Promise.all(replicas.map((r) => r.ready()));
  return {
    cluster,
    db,
    replicas,
    token,
    async close() {
      for (const r of replicas) if (!r.exit) r.signal('SIGKILL');
      await Promise.all(replicas.map((r) => r.exited().catch(() => {})));
      await db.close().catch(() => {});
      await cluster.destroy();
    },
  };
}

export interface OutageFigures {
  acknowledged: number;
  lost: number;
  calls: number;
  failedFast: number;
  /** Failures that were not a 503 with Retry-After within 5 s (a 500, a hang, no answer). */
  failedOther: number;
  /** Those failures themselves (ms from the stop's return, status, time taken, body or error), so a red run says what failed. */
  others: { fromStopMs: number; status: number; ms: number; retryAfter: boolean; detail?: string }[];
  maxFailureMs: number;
  /** /readyz while the database was stopped: answers other than 503, and the slowest answer. */
  readyNot503: number;
  /** Those answers themselves (replica, ms from the stop's return, status, time taken, body or error). */
  readyOthers: { replica: string; fromStopMs: number; status: number; ms: number; detail?: string }[];
  readyMaxMs: number;
  /** From the database accepting connections again to every replica ready. */
  recoverMs: number;
  /** Calls answered 200 after recovery (the replicas came back by themselves). */
  okAfter: number;
  exits: number;
}

const allReady = async (replicas: Replica[]) =>
  (await Promise.all(replicas.map((r) => fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((res) => res.status === 200, () => false)))).every(Boolean);

/** Each replica's /readyz answer and last log lines other than "request failed: database unavailable". */
async function diagnose(replicas: Replica[]): Promise<string> {
  const parts = await Promise.all(
    replicas.map(async (r) => {
      const ready = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(3_000) }).then((res) => res.text(), (e: Error) => e.message);
      return `${r.name} (exit ${JSON.stringify(r.exit)}): /readyz ${ready}; log: ${r.log.filter((l) => !l.includes('database unavailable')).slice(-6).join('\n')}`;
    }),
  );
  return parts.join('\n');
}

/** Ingest running on every replica; the database restarted (fast), then stopped for `outageMs`. */
export async function restartAndStop(rig: Rig, tag: number, outageMs = 12_000): Promise<OutageFigures> {
  const load = new IngestLoad(() => rig.replicas.map((r) => r.url), rig.token, { tag, workers: 6 });
  const watch = new ReadyWatch(rig.replicas);
  load.start();
  watch.start();
  await sleep(2_000);
  await rig.cluster.restart();
  await sleep(3_000);
  await rig.cluster.stop();
  // pg_ctl -w returns once the server is gone. Timed from the call instead, a loaded machine's
  // slow spawn of pg_ctl (as the postgres user) let /readyz rightly answer 200 inside the window.
  const stoppedAt = Date.now();
  await sleep(outageMs);
  // The database is certainly away until pg_ctl start is called; it may accept connections
  // before pg_ctl (polling its pid file) returns, so /readyz is judged up to the call.
  const startCalledAt = Date.now();
  await rig.cluster.start();
  const startedAt = Date.now();
  await until('every replica ready', () => allReady(rig.replicas), 30_000, 100).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${await diagnose(rig.replicas)}`);
  });
  const recoverMs = Date.now() - startedAt;
  await sleep(2_000);
  await load.stop();
  watch.stop();
  await sleep(300); // the last readiness answers

  const stored = new Set(
    (await rig.db.query<{ k: string }>("SELECT store_id || '/' || dept_id || '/' || week::text AS k FROM weekly_sales WHERE dept_id >= 100")).map((r) => r.k),
  );
  const failures = load.calls.filter((c) => c.status !== 200);
  const fast = failures.filter((c) => c.status === 503 && c.retryAfter && c.ms <= 5_000);
  // From the stop's return to the start's call: the database is away.
  const during = watch.samples.filter((s) => s.at >= stoppedAt && s.at + s.ms <= startCalledAt);
  return {
    acknowledged: load.acked.length,
    lost: load.acked.filter((k) => !stored.has(k)).length,
    calls: load.calls.length,
    failedFast: fast.length,
    failedOther: failures.length - fast.length,
    others: failures
      .filter((c) => !fast.includes(c))
      .map((c) => ({ fromStopMs: c.at - stoppedAt, status: c.status, ms: c.ms, retryAfter: c.retryAfter, detail: c.detail })),
    maxFailureMs: Math.max(0, ...failures.map((c) => c.ms)),
    readyNot503: during.filter((s) => s.status !== 503).length,
    readyOthers: during.filter((s) => s.status !== 503).map((s) => ({ replica: s.replica, fromStopMs: s.at - stoppedAt, status: s.status, ms: s.ms, detail: s.detail })),
    readyMaxMs: Math.max(0, ...during.map((s) => s.ms)),
    recoverMs,
    okAfter: load.calls.filter((c) => c.status === 200 && c.at > startedAt + recoverMs).length,
    exits: rig.replicas.filter((r) => r.exit).length,
  };
}

export interface KillFigures {
  killed: string;
  /** Requests the receiver saw, the delivery keys on them, and 2xx answers per key. */
  receipts: number;
  keys: string[];
  successes: number;
  /** From the kill to the other replica's successful delivery. */
  redeliveredMs: number;
  deliveries: { status: string; attempts: number }[];
}

/** A webhook receiver on 127.0.0.1 that never answers its first request (a slow receiver). */
async function slowReceiver(): Promise<{ server: Server; port: number; receipts: { key: string; answered: boolean }[] }> {
  const receipts: { key: string; answered: boolean }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    const receipt = { key: String(req.headers['idempotency-key']), answered: false };
    receipts.push(receipt);
    if (receipts.length === 1) return; // the replica delivering this is killed meanwhile
    req.on('end', () => {
      receipt.answered = true;
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, receipts };
}

/**
 * A weekly summary due; whichever replica claims it is SIGKILLed while its request is open.
 * The lease (2 min by default) is then expired in the database instead of waited for; the
 * other replica must deliver it, with the same Idempotency-Key. The killed one is restarted.
 */
export async function killMidDelivery(rig: Rig): Promise<KillFigures> {
  const receiver = await slowReceiver();
  try {
    await createSubscription(rig.db, TEST_SECRET_KEY, { delivery: OPERATOR_DELIVERY,
      scope: { kind: 'store', store: 1 },
      target: { kind: 'url', url: `http://127.0.0.1:${receiver.port}/hook`, format: 'json' },
      schedule: { weekday: 1, time: '08:00', timezone: 'America/Chicago' },
      now: new Date(Date.now() - 8 * 86_400_000),
    }, createOutbound({ allow: ['127.0.0.1'] }));
    await until('the first delivery request', () => receiver.receipts.length === 1, 60_000);
    const pid = await until('the delivering replica', () => pidConnectedTo(receiver.port), 5_000);
    const victim = rig.replicas.find((r) => r.pid === pid);
    if (!victim) throw new Error(`no replica has pid ${pid}`);
    victim.signal('SIGKILL');
    await victim.exited();
    const killedAt = Date.now();
    await rig.db.query("UPDATE webhook_deliveries SET lease_until = now() WHERE status = 'in_progress'");
    await until('redelivery', () => receiver.receipts.some((r) => r.answered), 60_000);
    const redeliveredMs = Date.now() - killedAt;
    const deliveries = await until('the delivery recorded', async () => {
      const rows = await rig.db.query<{ status: string; attempts: number }>('SELECT status, attempts FROM webhook_deliveries');
      return rows.every((r) => r.status === 'succeeded') && rows;
    });
    victim.start();
    await victim.ready();
    return {
      killed: victim.name,
      receipts: receiver.receipts.length,
      keys: [...new Set(receiver.receipts.map((r) => r.key))],
      successes: receiver.receipts.filter((r) => r.answered).length,
      redeliveredMs,
      deliveries,
    };
  } finally {
    receiver.server.closeAllConnections();
    receiver.server.close();
  }
}

export interface RollingFigures {
  requests: number;
  failed: number;
  /** Each failure: its status (0: no answer) and when it started, in ms after the nearest SIGTERM. */
  failures: { status: number; afterSigtermMs: number }[];
  exitCodes: (number | null)[];
  /** Longest a replica took from SIGTERM to exit. */
  maxStopMs: number;
}

/** Ingest through a readiness-routing proxy while the first `restart` replicas in turn get SIGTERM and start again. */
export async function rollingRestart(rig: Rig, tag: number, restart = rig.replicas.length): Promise<RollingFigures> {
  const proxy = new ReadyProxy(rig.replicas);
  const base = await proxy.listen();
  await until('the proxy to see every replica ready', async () => {
    const r = await Promise.all(rig.replicas.map(() => fetch(`${base}/readyz`).then((x) => x.status === 200)));
    return r.every(Boolean);
  }, 10_000);
  const load = new IngestLoad(() => [base], rig.token, { tag, workers: 6 });
  load.start();
  const exitCodes: (number | null)[] = [];
  const signals: number[] = [];
  let maxStopMs = 0;
  try {
    await sleep(1_500);
    for (const replica of rig.replicas.slice(0, restart)) {
      const signalled = Date.now();
      signals.push(signalled);
      replica.signal('SIGTERM');
      exitCodes.push((await replica.exited()).code);
      maxStopMs = Math.max(maxStopMs, Date.now() - signalled);
      replica.start();
      await replica.ready();
      await sleep(1_000);
    }
  } finally {
    await load.stop();
    await proxy.close();
  }
  const failures = load.calls
    .filter((c) => c.status !== 200)
    .map((c) => ({ status: c.status, afterSigtermMs: c.at - signals.reduce((best, s) => (Math.abs(c.at - s) < Math.abs(c.at - best) ? s : best), signals[0] ?? 0) }));
  return { requests: load.calls.length, failed: failures.length, failures, exitCodes, maxStopMs };
}
