/**
 * Ack benchmark: how fast signed Slack slash commands are acknowledged, on loopback.
 *
 *   npx tsx bench/ack.ts [--connections 200] [--duration 10] [--rate 500] [--text "/help"]
 *
 * One Hono server (@hono/node-server, as in production) serves two routes:
 *   POST /bare          a bare Hono handler answering 200 "ok" — the ceiling for this machine
 *   POST /slack/events  storecast's Slack adapter: raw body, v0 signature check (HMAC-SHA256,
 *                       5-minute window), form parsing, Bolt's processEvent and listener, the
 *                       ephemeral ack — then, after the ack, the command runs and its answer
 *                       goes to a fake Slack API (127.0.0.1, in a child process, so its own
 *                       work is not billed to the server).
 * autocannon (in a worker thread, so the load generator does not share the server's event
 * loop) drives each route with the same connections and duration:
 *   1. bare route, closed loop (as fast as it answers): the machine's ceiling;
 *   2. Slack route, closed loop: its saturation throughput, as a ratio of (1), and the latency
 *      there — which by Little's law is about connections / throughput, so it measures capacity;
 *   3. Slack route at a fixed rate (--rate requests/s over the same connections): the ack
 *      latency of a loaded but not saturated server. autocannon paces each connection
 *      separately, so requests come in bursts of up to `connections` at once: pessimistic.
 * "CPU ms/req" is the server process's CPU time (user + system) per answered request,
 * follow-up work included — the number that does not depend on what else the machine runs.
 *
 * The default command is /help: its follow-up work (dispatch + a response_url POST) is light,
 * so the figure is mostly the ack path. `--text "/forecast stor 5"` (a typo: answered in the
 * ack, no follow-up) measures the ack alone. Commands with charts render a PNG (~0.1-0.5 s of
 * CPU) on the same thread after each ack; at hundreds per second that work, not the ack,
 * saturates the process — `--text "/forecast store 5"` shows it.
 *
 * `--during-training`: then loads the real Walmart data (or the demo data when it is absent)
 * and measures the paced ack latency twice — idle, and while a full retrain runs (a worker
 * thread trains the challenger; the database work stays on this thread) — and prints both
 * p99s and their ratio (target: within 2x). The training is stopped after the window.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Hono } from 'hono';
import { slackRoutes } from '../src/adapters/slack/index.ts';
import { slackSignature } from '../src/adapters/slack/verify.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { SeasonalNaiveForecaster } from '../src/forecast/seasonal-naive.ts';
import { createLogger } from '../src/logger.ts';
import { createServices } from '../src/services.ts';
import { listen } from '../test/fakes/serve.ts';
import { openTestDatabase } from '../test/helpers/db.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const connections = Number(arg('connections', '200'));
const duration = Number(arg('duration', '10'));
const line = arg('text', '/help');
const rate = Number(arg('rate', '500'));
const SECRET = 'bench-signing-secret';

// The fake Slack API runs in its own process: a real Slack is not on the server's CPU either.
const fakeProcess = fork(fileURLToPath(new URL('../test/fakes/slack-api-server.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
const fake = await new Promise<{ apiUrl: string; url: string }>((resolve, reject) => {
  fakeProcess.once('message', (m) => resolve(m as { apiUrl: string; url: string }));
  fakeProcess.once('exit', (code) => reject(new Error(`fake Slack API exited (${code})`)));
});
const fakeStats = () =>
  new Promise<Record<string, number>>((resolve) => {
    fakeProcess.once('message', (m) => resolve((m as { counts: Record<string, number> }).counts));
    fakeProcess.send('stats');
  });
const needsData = !/^\/?help\b/.test(line) && !process.argv.includes('--no-data');
const db = needsData ? await openTestDatabase([5]) : await openDatabase({ database: { kind: 'pglite', dataDir: 'memory://' } });
const services = createServices({
  config: loadConfig({ SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_API_URL: fake.apiUrl, LOG_LEVEL: 'silent' }),
  db,
  logger: createLogger('silent'),
  forecaster: new SeasonalNaiveForecaster(),
});

const app = new Hono();
app.post('/bare', (c) => c.text('ok'));
app.route('/slack', slackRoutes(services));
const server = await listen(app);

const [command, ...words] = line.trim().split(/\s+/);
const body = new URLSearchParams({
  token: 'x',
  team_id: 'T0BENCH',
  team_domain: 'bench',
  channel_id: 'C0BENCH',
  channel_name: 'bench',
  user_id: 'U0BENCH',
  user_name: 'bench',
  command: command!.startsWith('/') ? command! : `/${command}`,
  text: words.join(' '),
  response_url: `${fake.url}/commands/T0BENCH/1/bench`,
  trigger_id: '1.2.3',
}).toString();
const ts = Math.floor(Date.now() / 1000); // valid for 5 minutes: longer than the run
const signed = {
  'content-type': 'application/x-www-form-urlencoded',
  'x-slack-request-timestamp': String(ts),
  'x-slack-signature': slackSignature(SECRET, ts, body),
};

// Sanity: the signed request is acked (200, ephemeral) and the bare route answers.
const probe = await fetch(`${server.url}/slack/events`, { method: 'POST', headers: signed, body });
if (probe.status !== 200) throw new Error(`the Slack route answered ${probe.status}: ${await probe.text()}`);
const ackBody = await probe.text();

async function run(title: string, path: string, headers: Record<string, string>, payload: string, overallRate?: number) {
  const cpu = process.cpuUsage();
  const result = await autocannon({ url: `${server.url}${path}`, method: 'POST', headers, body: payload, connections, duration, pipelining: 1, workers: 1, ...(overallRate ? { overallRate } : {}) });
  const ok = result['2xx'];
  const bad = result.non2xx + result.errors + result.timeouts;
  const used = process.cpuUsage(cpu);
  const cpuMsPerRequest = (used.user + used.system) / 1000 / Math.max(1, result.requests.total);
  return { title, cpuMsPerRequest, rps: result.requests.average, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, ok, bad };
}

await run('warm-up', '/bare', {}, 'x');
const bare = await run('bare Hono handler', '/bare', { 'content-type': 'text/plain' }, 'x');
const slack = await run(`signed Slack ${line}`, '/slack/events', signed, body);
await services.drain();
const paced = await run(`signed Slack ${line} @${rate}/s`, '/slack/events', signed, body, rate);
await services.drain();

const duringTraining = process.argv.includes('--during-training') ? await measureDuringTraining() : undefined;

/** Paced ack latency idle, then while a full retrain runs; the retrain is stopped after. */
async function measureDuringTraining() {
  const { existsSync } = await import('node:fs');
  const { importFiles } = await import('../src/data/import.ts');
  const { loadDemoData } = await import('../src/data/demo.ts');
  const { startRetrain } = await import('../src/forecast/retrain.ts');
  const dir = '/work/shared/data/walmart';
  const loadStarted = performance.now();
  if (existsSync(`${dir}/train.csv`)) await importFiles(db, [`${dir}/stores.csv`, `${dir}/features.csv`, `${dir}/train.csv`]);
  else await loadDemoData(db);
  const [{ rows }] = (await db.query<{ rows: number }>('SELECT count(*)::int AS rows FROM weekly_sales')) as [{ rows: number }];
  console.log(`loaded ${rows.toLocaleString('en-US')} sales rows in ${((performance.now() - loadStarted) / 1000).toFixed(0)} s`);
  const idle = await run(`idle @${rate}/s`, '/slack/events', signed, body, rate);
  await services.drain();
  const controller = new AbortController();
  let training = false;
  let epochs = 0;
  const trainStarted = performance.now();
  const started = await startRetrain(
    { db, config: services.config, logger: createLogger('silent') },
    { trigger: 'cli', signal: controller.signal, onStage: (stage) => (training ||= stage === 'training'), onEpoch: () => epochs++ },
  );
  if (!('done' in started)) throw new Error(`retrain not started: ${started.reason}`);
  while (!training) await new Promise((resolve) => setTimeout(resolve, 200));
  const loading = (performance.now() - trainStarted) / 1000;
  const busy = await run(`during training @${rate}/s`, '/slack/events', signed, body, rate);
  await services.drain();
  controller.abort();
  const outcome = await started.done;
  return { idle, busy, loading, epochs, stillTraining: outcome.decision === 'failed' && /stopped/.test(outcome.reason) };
}

const f = (n: number) => n.toFixed(0).padStart(7);
console.log(`\nack latency on loopback — node ${process.version}, ${connections} connections, ${duration} s each; ack body: ${ackBody.slice(0, 80)}…`);
console.log(`${'route'.padEnd(34)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p90 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'max ms'.padStart(7)} ${'CPU ms/req'.padStart(11)}   2xx / failed`);
for (const r of [bare, slack, paced]) console.log(`${r.title.padEnd(34)} ${f(r.rps)} ${f(r.p50)} ${f(r.p90)} ${f(r.p99)} ${f(r.max)} ${r.cpuMsPerRequest.toFixed(3).padStart(11)}   ${r.ok} / ${r.bad}`);
console.log(`\nthroughput at saturation: ${(slack.rps / bare.rps).toFixed(3)}x the bare handler's (${f(slack.rps).trim()} vs ${f(bare.rps).trim()} req/s)`);
console.log(`ack p99 at saturation: ${slack.p99} ms; at ${rate} req/s: ${paced.p99} ms (target < 100 ms: ${paced.p99 < 100 ? 'met' : 'NOT met'})`);
if (duringTraining) {
  const { idle, busy, loading, epochs, stillTraining } = duringTraining;
  console.log(`\nack latency while a full retrain runs (worker thread; panel loaded on this thread in ${loading.toFixed(1)} s before the window):`);
  for (const r of [idle, busy]) console.log(`${r.title.padEnd(34)} ${f(r.rps)} ${f(r.p50)} ${f(r.p90)} ${f(r.p99)} ${f(r.max)} ${r.cpuMsPerRequest.toFixed(3).padStart(11)}   ${r.ok} / ${r.bad}`);
  const ratio = busy.p99 / Math.max(idle.p99, 1);
  console.log(`p99 idle ${idle.p99} ms, during training ${busy.p99} ms: ${ratio.toFixed(2)}x (target within 2x: ${ratio <= 2 ? 'met' : 'NOT met'}); training ${stillTraining ? 'was still running at the end of the window' : 'ended inside the window'} (${epochs} epochs done)`);
}
const counts = await fakeStats();
console.log(`calls the fake Slack API received after the acks: ${JSON.stringify(counts)}`);

await server.close();
fakeProcess.disconnect();
await db.close();
