// Replicas (issue #15): two `storecast serve` processes on one Postgres database, started
// together, then fed the work that must happen once across them:
//   1. training on start: one replica trains, the other sees the claim and does not;
//   2. weekly summaries due for every subscription, alert rules due every minute: each summary
//      posted once, each rule evaluated once per round (per-replica counts from their logs);
//   3. a new week of sales for every store pushed through both replicas' ingest API, one part
//      sent to both at once (a retried request): applied once, aggregates equal to a recount;
//      then /forecast answers through both while they reload their panels;
//   4. `/model retrain` asked of both replicas at the same moment: one retrain starts.
// Each replica's start-to-ready time and RSS (now and peak, from /proc), the stored forecasts
// of the new week (which replica computed them, how long), /forecast through the API before and
// after, and a chain-wide stock snapshot of the new week with one chain-wide stock rule (the
// evaluation's time from the stock API's answer) are printed along the way.
// Run: npx tsx bench/replicas.ts [--url DATABASE_URL | --stores 45] [--subscriptions 100] [--rules 50]
//      [--train-timeout 1800] [--keep] [--no-precompute] [--no-stock] [--settle 60]
//   --no-precompute: the replicas run with STORECAST_FORECAST_PRECOMPUTE=off (a job runner's
//   task), so the new week's stored forecasts are not waited for: answers stay "as of" the week before.
//   --url: an existing chain (e.g. `bench/scale.ts 4600 --keep` prints one); else a new database
//   on TEST_DATABASE_URL's server loaded with `storecast demo --stores N`, dropped after.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRule } from '../src/alerts/rules.ts';
import { createToken } from '../src/auth/tokens.ts';
import { openPostgres, type Database } from '../src/db/client.ts';
import { addWeeks } from '../src/data/weeks.ts';
import { createOutbound } from '../src/net/outbound.ts';
import { createSubscription } from '../src/delivery/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/helpers/db.ts';
import { OPERATOR_DELIVERY } from '../test/helpers/delivery.ts';
import { weekRecount } from './week-recount.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const cli = fileURLToPath(new URL('../bin/storecast.js', import.meta.url));
const KEY = randomBytes(32);
const DAY = 86_400_000;
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

interface Replica {
  name: string;
  port: number;
  child: ChildProcess;
  logs: Record<string, unknown>[];
  readyS?: number;
  /** For /metrics (the run's admin token). */
  token?: string;
}

/**
 * VmRSS and VmHWM (peak) of a replica's process, MB, and of that its V8 heap (total / used) and
 * memory outside the heap (Buffers, canvas) from /metrics: which of them a burst leaves grown.
 */
async function memory(r: Replica): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${r.child.pid}/status`, 'utf8').catch(() => '');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  const metrics = r.token ? await fetch(`http://127.0.0.1:${r.port}/metrics`, { headers: { authorization: `Bearer ${r.token}` }, signal: AbortSignal.timeout(5_000) }).then((x) => x.text(), () => '') : '';
  const mb = (name: string) => Math.round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1] ?? NaN) / 2 ** 20);
  const heap = metrics ? `; heap ${mb('nodejs_heap_size_total_bytes')} / used ${mb('nodejs_heap_size_used_bytes')}, external ${mb('nodejs_external_memory_bytes')}` : '';
  return `${r.name} ${Math.round(kb('VmRSS') / 1024)} MB (peak ${Math.round(kb('VmHWM') / 1024)} MB${heap})`;
}

/** Counts requests by path: summaries at /sub/N, alert notices at /rule/N. */
async function startReceiver() {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => server.close() };
}

function startReplica(name: string, port: number, env: Record<string, string>): Replica {
  const child = spawn(process.execPath, [cli, 'serve'], { env: { ...process.env, ...env, PORT: String(port), LOG_FORMAT: 'json', LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let rest = '';
  // The log goes to stderr as JSON lines: kept for counting; warnings and errors shown.
  child.stderr!.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      let entry: Record<string, unknown> | undefined;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = undefined;
      }
      if (entry) logs.push(entry);
      if (!entry || Number(entry.level) >= 40) process.stderr.write(`[${name}] ${line}\n`);
    }
  });
  return { name, port, child, logs };
}

const said = (r: Replica, msg: string | RegExp) => r.logs.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutS: number): Promise<boolean> {
  const end = Date.now() + timeoutS * 1000;
  while (!(await check())) {
    if (Date.now() > end) {
      console.log(`  (gave up waiting for ${what} after ${timeoutS} s)`);
      return false;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return true;
}

async function openChain(): Promise<{ db: Database; url: string; test?: TestDatabase }> {
  const url = option('--url', '');
  if (url) return { db: await openPostgres(url), url };
  const test = await createTestDatabase('postgres');
  const stores = option('--stores', '45');
  const started = performance.now();
  const code = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, [cli, 'demo', '--stores', stores], { env: { ...process.env, DATABASE_URL: test.url!, LOG_LEVEL: 'warn' }, stdio: 'inherit' }).on('close', resolve),
  );
  if (code !== 0) throw new Error(`storecast demo --stores ${stores} failed`);
  console.log(`  loaded ${stores} demo stores in ${seconds(started)} s`);
  return { db: test.db, url: test.url!, test };
}

/** Summaries due now and sales alerts on stores spread over the chain, all to the receiver. */
async function seedScheduledWork(db: Database, receiver: string, counts: { subscriptions: number; rules: number }): Promise<{ subscriptions: string[]; rules: string[] }> {
  const made = { subscriptions: [] as string[], rules: [] as string[] };
  const outbound = createOutbound({ allow: ['127.0.0.1'] });
  const [{ n } = { n: 1 }] = await db.query<{ n: number }>('SELECT max(store_id)::int AS n FROM stores');
  const store = (i: number) => 1 + ((i * 7919) % n);
  for (let i = 0; i < counts.subscriptions; i++) {
    const input = { scope: { kind: 'store', store: store(i) }, target: { kind: 'url', url: `${receiver}/sub/${i}` }, schedule: { weekday: 1, time: '08:00', timezone: 'UTC' }, now: new Date(Date.now() - 8 * DAY), delivery: OPERATOR_DELIVERY } as const;
    made.subscriptions.push((await createSubscription(db, KEY, input, outbound)).subscription.id);
  }
  for (let i = 0; i < counts.rules; i++) {
    const rule = await createRule(db, KEY, { delivery: OPERATOR_DELIVERY, kind: 'sales', scope: { kind: 'store', store: store(i + 1) }, condition: { type: 'below-forecast', pct: 50 }, target: { kind: 'webhook', url: `${receiver}/rule/${i}` }, createdBy: 'cli' }, outbound);
    made.rules.push(rule.id);
  }
  return made;
}

const post = (r: Replica, path: string, token: string, body: string, type: string) =>
  fetch(`http://127.0.0.1:${r.port}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));

/** A new week for every store and department of the last one, as CSV parts under the ingest limit. */
async function nextWeekParts(db: Database): Promise<{ week: string; parts: string[]; rows: number }> {
  const [{ last } = { last: '' }] = await db.query<{ last: string }>('SELECT max(week)::text AS last FROM store_week_sales');
  const rows = await db.query<{ store_id: number; dept_id: number; sales: number }>('SELECT store_id, dept_id, sales FROM weekly_sales WHERE week = $1::date', [last]);
  const week = addWeeks(last, 1);
  const parts: string[] = [];
  for (let i = 0; i < rows.length; i += 100_000) {
    const lines = rows.slice(i, i + 100_000).map((r) => `${r.store_id},${r.dept_id},${week},${(r.sales * 1.01).toFixed(2)},FALSE`);
    parts.push(`Store,Dept,Date,Weekly_Sales,IsHoliday\n${lines.join('\n')}\n`);
  }
  return { week, parts, rows: rows.length };
}

async function ingestPhase(db: Database, [a, b]: Replica[], token: string): Promise<string> {
  const { week, parts, rows } = await nextWeekParts(db);
  const started = performance.now();
  // Part 0 goes to both replicas at once (a load balancer's retry); the rest alternate, two at a time.
  const reports = await Promise.all([post(a!, '/api/v1/sales', token, parts[0]!, 'text/csv'), post(b!, '/api/v1/sales', token, parts[0]!, 'text/csv')]);
  for (let i = 1; i < parts.length; i += 2) {
    reports.push(...(await Promise.all(parts.slice(i, i + 2).map((p, k) => post(k === 0 ? a! : b!, '/api/v1/sales', token, p, 'text/csv')))));
  }
  const took = (performance.now() - started) / 1000;
  const sum = (k: string) => reports.reduce((s, r) => s + Number(r.body[k] ?? 0), 0);
  const statuses = [...new Set(reports.map((r) => r.status))].join(',');
  console.log(`  ingest of week ${week}: ${rows.toLocaleString('en-US')} rows in ${parts.length} parts (+1 duplicate) in ${took.toFixed(1)} s (${Math.round(rows / took).toLocaleString('en-US')} rows/s); HTTP ${statuses}`);
  console.log(`    inserted ${sum('inserted')}, updated ${sum('updated')}, unchanged ${sum('unchanged')} (the duplicated part: ${reports[0]!.body.inserted}/${reports[1]!.body.inserted} inserted by A/B)`);
  console.log(`    ${await weekRecount(db, week)}`);
  return week;
}

const maxRun = async (db: Database) => (await db.query<{ n: number }>('SELECT coalesce(max(id), 0)::int AS n FROM forecast_runs'))[0]!.n;

/** The stored forecasts of the new week: computed by one replica (its log says so), how long it took. */
async function storedPhase(db: Database, replicas: Replica[], after: number, week: string): Promise<void> {
  const ready = async () => (await db.query<{ id: number; seconds: number; series: number; peak_rss_mb: number }>(`SELECT id, seconds, series, peak_rss_mb FROM forecast_runs WHERE id > $1 AND status = 'ready' AND origin = $2::date`, [after, week]))[0];
  const started = performance.now();
  if (!(await until('the stored forecasts of the new week', async () => (await ready()) !== undefined, 3600))) return;
  const run = (await ready())!;
  const by = replicas.filter((r) => said(r, /^stored forecasts of model/).length > 0).map((r) => r.name);
  const [{ n } = { n: 0 }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM forecast_runs WHERE id > $1', [after]);
  console.log(`  stored forecasts from ${week}: run #${run.id} ready ${seconds(started)} s after the ingest answered; computed by ${by.join(', ') || '?'} in ${Number(run.seconds).toFixed(0)} s (${Number(run.series).toLocaleString('en-US')} series, peak RSS ${run.peak_rss_mb} MB); runs claimed since the ingest: ${n}`);
}

/** A stock snapshot of every series of the new week and one chain-wide stock rule: the evaluation after each part, from the stock API's answer. */
async function stockPhase(db: Database, [a, b]: Replica[], token: string, week: string): Promise<void> {
  const rule = await createRule(db, KEY, { delivery: OPERATOR_DELIVERY, kind: 'stock', scope: { kind: 'chain' }, condition: { type: 'cover-below', weeks: 2, basis: 'p90' }, target: { kind: 'webhook', url: 'http://127.0.0.1:9/stock' }, createdBy: 'cli' }, createOutbound({ allow: ['127.0.0.1'] }));
  try {
    const rows = await db.query<{ store_id: number; dept_id: number; sales: number }>('SELECT store_id, dept_id, sales FROM weekly_sales WHERE week = $1::date', [week]);
    const started = performance.now();
    const ms: number[] = [];
    for (let i = 0; i < rows.length; i += 100_000) {
      const lines = rows.slice(i, i + 100_000).map((r) => `${r.store_id},${r.dept_id},${week},${Math.max(0, Math.round(r.sales * 2.5))},0,,2`);
      const res = await post(i % 200_000 === 0 ? a! : b!, '/api/v1/stock', token, `Store,Dept,Date,On_Hand,On_Order,On_Order_Date,Lead_Time_Weeks\n${lines.join('\n')}\n`, 'text/csv');
      const alerts = res.body.alerts as { evaluated: number; ms: number } | null;
      if (res.status !== 200) throw new Error(`stock ingest answered ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
      ms.push(alerts?.ms ?? NaN);
    }
    console.log(`  chain-wide stock snapshot of ${week}: ${rows.length.toLocaleString('en-US')} rows in ${seconds(started)} s; the chain-wide stock rule evaluated after each part in ${ms.map((m) => `${(m / 1000).toFixed(1)} s`).join(', ')}`);
  } finally {
    await db.query('DELETE FROM alert_notifications WHERE rule_id = $1', [rule.id]);
    await db.query('DELETE FROM alert_rules WHERE id = $1', [rule.id]);
  }
}

/** Answers right after an ingest, while each replica reloads its panel: they must not wait for it. */
async function answersAfterIngest(replicas: Replica[], token: string, stores: number, when: string): Promise<void> {
  const ms: number[] = [];
  let note = '';
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    const res = await post(replicas[i % 2]!, '/api/v1/commands', token, JSON.stringify({ command: `/forecast store ${1 + ((i * 7919) % stores)} week 12` }), 'application/json');
    if (res.status !== 200) throw new Error(`/forecast answered ${res.status}`);
    note ||= String((res.body.reply as { context?: { notes?: string[] } } | undefined)?.context?.notes?.[0] ?? '');
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  console.log(`  /forecast store N week 12 through the API ${when} (20, both replicas): p50 ${ms[10]!.toFixed(0)} ms, p95 ${ms[18]!.toFixed(0)} ms, max ${ms[19]!.toFixed(0)} ms${note ? ` — "${note}"` : ''}`);
}

async function retrainPhase(db: Database, replicas: Replica[], token: string, before: number): Promise<void> {
  const answers = await Promise.all(replicas.map((r) => post(r, '/api/v1/commands', token, JSON.stringify({ command: '/model retrain' }), 'application/json')));
  for (const [i, r] of replicas.entries()) console.log(`  /model retrain on ${r.name}: ${String((answers[i]!.body.reply as { title?: string } | undefined)?.title)} (${String((answers[i]!.body.reply as { summary?: string } | undefined)?.summary).slice(0, 90)})`);
  const runs = await db.query<{ id: number; status: string }>('SELECT id, status FROM model_retrains WHERE id > $1 ORDER BY id', [before]);
  // Replicas without model work (--no-precompute) queue the retrain for a worker this bench does not run.
  console.log(`    retrain runs claimed or queued: ${runs.length} (${runs.map((x) => `#${x.id} ${x.status}`).join(', ')})`);
}

function schedulerReport(replicas: Replica[], hits: Map<string, number>, counts: { subscriptions: number; rules: number }): void {
  const summaries = [...hits].filter(([p]) => p.startsWith('/sub/'));
  const dupes = summaries.filter(([, n]) => n > 1).length;
  console.log(`  weekly summaries: ${summaries.length} of ${counts.subscriptions} subscriptions posted, ${dupes} more than once; delivered by ${replicas.map((r) => `${r.name} ${said(r, 'webhook delivered').length}`).join(', ')}`);
  const evaluated = replicas.map((r) => said(r, 'alert rules evaluated').reduce((s, l) => s + Number(l.rules), 0));
  const rounds = replicas
    .flatMap((r) => said(r, 'alert rules evaluated').map((l) => ({ at: Number(l.time) - Number(l.ms), name: r.name, rules: Number(l.rules) })))
    .sort((a, b) => a.at - b.at)
    .map((x, _, all) => `${x.name} ${x.rules} at +${((x.at - all[0]!.at) / 1000).toFixed(0)} s`);
  console.log(`  alert rules evaluated: ${replicas.map((r, i) => `${r.name} ${evaluated[i]}`).join(', ')} for ${counts.rules} rules due once a minute; rounds: ${rounds.join(', ')}`);
}

async function main(): Promise<void> {
  const chain = await openChain();
  const { db } = chain;
  const counts = { subscriptions: Number(option('--subscriptions', '100')), rules: Number(option('--rules', '50')) };
  const [base] = await db.query<{ models: number; retrains: number; ready: number }>(
    `SELECT coalesce(max(version), 0)::int AS models, (SELECT coalesce(max(id), 0)::int FROM model_retrains) AS retrains,
            (SELECT count(*)::int FROM model_registry WHERE status = 'ready') AS ready FROM model_registry`,
  );
  const [{ stores } = { stores: 0 }] = await db.query<{ stores: number }>('SELECT count(*)::int AS stores FROM stores');
  console.log(`\nTwo replicas on ${stores.toLocaleString('en-US')} stores (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  const { token, info } = await createToken(db, { name: 'bench-replicas', scopes: ['admin'] });
  const receiver = await startReceiver();
  const made = await seedScheduledWork(db, receiver.url, counts);
  const env = {
    DATABASE_URL: chain.url, HOST: '127.0.0.1', STORECAST_SECRET_KEY: KEY.toString('hex'), STORECAST_DEMO: 'never', STORECAST_TRAIN_ON_START: 'true',
    STORECAST_OUTBOUND_ALLOW: '127.0.0.1', STORECAST_ALERT_EVERY_MINUTES: '1', STORECAST_ADMINS: `token:${info.id}`, STORECAST_RATE_LIMIT: '0', DATABASE_POOL_SIZE: '10',
    STORECAST_FORECAST_PRECOMPUTE: args.includes('--no-precompute') ? 'off' : 'on',
  };
  const started = performance.now();
  const replicas = [startReplica('A', 39401, env), startReplica('B', 39402, env)];
  for (const r of replicas) r.token = token;
  try {
    await until(
      'both replicas ready',
      async () =>
        (
          await Promise.all(
            replicas.map(async (r) => {
              const ok = r.readyS !== undefined || (await fetch(`http://127.0.0.1:${r.port}/readyz`).then((x) => x.status === 200, () => false));
              r.readyS ??= ok ? (performance.now() - started) / 1000 : undefined;
              return ok;
            }),
          )
        ).every(Boolean),
      300,
    );
    console.log(`  both ready in ${seconds(started)} s (${replicas.map((r) => `${r.name} ${r.readyS?.toFixed(1)} s`).join(', ')}); RSS ${(await Promise.all(replicas.map(memory))).join(', ')}`);
    await answersAfterIngest(replicas, token, stores, 'before the ingest');
    await until('every summary', () => [...receiver.hits.keys()].filter((p) => p.startsWith('/sub/')).length >= counts.subscriptions, 900);
    await until('a second round of alert evaluation', () => replicas.flatMap((r) => said(r, 'alert rules evaluated')).length >= 2, 180);
    schedulerReport(replicas, receiver.hits, counts);
    console.log(`  RSS after the summaries and alert rounds: ${(await Promise.all(replicas.map(memory))).join(', ')}`);
    const runsBefore = await maxRun(db);
    const week = await ingestPhase(db, replicas, token);
    console.log(`  RSS after the sales ingest: ${(await Promise.all(replicas.map(memory))).join(', ')}`);
    await answersAfterIngest(replicas, token, stores, 'right after the ingest');
    if (!args.includes('--no-precompute')) {
      await storedPhase(db, replicas, runsBefore, week);
      await answersAfterIngest(replicas, token, stores, 'from the new week');
    }
    // Without stored forecasts (no model yet) a chain's stock cover forecasts every series one by one: --no-stock skips it.
    if (!args.includes('--no-stock')) await stockPhase(db, replicas, token, week);
    console.log(`  RSS after the stock ingest and its alert evaluations: ${(await Promise.all(replicas.map(memory))).join(', ')}`);
    // What a replica keeps once the day's bursts are over (the pod's steady memory, against its
    // request), beside the figures taken right after each burst.
    const settle = Number(option('--settle', '60'));
    await new Promise((r) => setTimeout(r, settle * 1000));
    console.log(`  RSS ${settle} s later (alert rounds still running each minute): ${(await Promise.all(replicas.map(memory))).join(', ')}`);
    const trainings = async () => (await db.query<{ version: number; status: string }>('SELECT version, status FROM model_registry WHERE version > $1 ORDER BY version', [base!.models])).map((r) => `v${r.version} ${r.status}`);
    if (base!.ready === 0) {
      await until('the training on start', async () => (await trainings()).some((s) => !s.endsWith('training')), Number(option('--train-timeout', '1800')));
      const skipped = replicas.filter((r) => said(r, /no background training/).length > 0).map((r) => r.name);
      console.log(`  training on start: runs ${JSON.stringify(await trainings())} after ${seconds(started)} s; replicas that saw the claim and did not train: ${skipped.join(', ') || 'none'}`);
    } else console.log('  training on start: a model was already registered (no run expected)');
    await retrainPhase(db, replicas, token, base!.retrains);
  } finally {
    for (const r of replicas) r.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => new Promise((resolve) => (r.child.exitCode === null ? r.child.once('exit', resolve) : resolve(null)))));
    receiver.close();
    if (!args.includes('--keep')) {
      // Only what this run made: the chain may be someone's.
      await db.query('DELETE FROM webhook_deliveries WHERE subscription_id = ANY($1::text[])', [made.subscriptions]);
      await db.query('DELETE FROM webhook_subscriptions WHERE id = ANY($1::text[])', [made.subscriptions]);
      await db.query('DELETE FROM alert_notifications WHERE rule_id = ANY($1::text[])', [made.rules]);
      await db.query('DELETE FROM alert_rules WHERE id = ANY($1::text[])', [made.rules]);
      await db.query('DELETE FROM api_tokens WHERE id = $1', [info.id]);
      await db.query(`DELETE FROM model_retrains WHERE id > $1 AND status = 'requested'`, [base!.retrains]);
    }
    if (chain.test && !args.includes('--keep')) await chain.test.cleanup();
    else await db.close();
  }
}

await main();
