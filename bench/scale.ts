// Walmart-size (issue #15): for each chain size, a generated chain on a fresh Postgres database:
//   1. `storecast demo --stores N --out DIR` writes stores.csv, features.csv, train.csv;
//   2. `storecast import` (the CLI, its own process) loads them: rows/s of train.csv;
//   3. every chat answer, p50/p95 over stores, query + Reply + chart PNG (as bench/reply.ts);
//   4. `storecast train` (its own process, under /usr/bin/time): wall time and peak RSS;
//   5. the stored-forecasts job (bench/precompute.ts, its own process): time and peak RSS;
//   then the answers of step 3 are timed again, now read from the stored forecasts.
// Targets on the 2-core machine at 4,600 stores: every command p95 < 1 s, /forecast store N
// week 12 p95 < 150 ms, import >= 80k rows/s.
// Run: npx tsx bench/scale.ts [45,450,4600] [--runs 20] [--no-train | --train quick] [--train-timeout 1800] [--keep]
//      npx tsx bench/scale.ts --url DATABASE_URL [--after-only] [...]   (an existing chain: no generation, no import)
//      (TEST_DATABASE_URL names the Postgres server; each size gets a new database, dropped after
//      unless --keep, which prints its URL for bench/replicas.ts.)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPng } from '../charts/index.ts';
import { loadConfig } from '../src/config.ts';
import { createServices } from '../src/services.ts';
import { createForecaster } from '../src/forecast/index.ts';
import { createLogger } from '../src/logger.ts';
import { generateChain, setRegions } from '../src/data/demo.ts';
import { createTestDatabase } from '../test/helpers/db.ts';
import { asker } from '../test/helpers/services.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const sizes = (args.find((a) => /^\d+(,\d+)*$/.test(a)) ?? '45,450').split(',').map(Number);
const runs = Number(option('--runs', '20'));
const train = !args.includes('--no-train');
const quickTrain = option('--train', 'full') === 'quick';
const existing = option('--url', '');
const trainTimeoutS = Number(option('--train-timeout', '1800'));
const keep = args.includes('--keep');
const cli = fileURLToPath(new URL('../bin/storecast.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs the storecast CLI in its own process (optionally under /usr/bin/time for peak RSS). */
function storecast(argv: string[], env: Record<string, string>, options: { timed?: boolean; timeoutS?: number } = {}): Promise<Run> {
  const started = performance.now();
  const command = options.timed ? '/usr/bin/time' : process.execPath;
  const full = options.timed ? ['-f', 'peak-rss-kb %M', process.execPath, cli, ...argv] : [cli, ...argv];
  return new Promise((resolve, reject) => {
    // Its own process group: a timeout stops /usr/bin/time and the CLI under it together.
    const child = spawn(command, full, { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const timer = options.timeoutS ? setTimeout(() => process.kill(-child.pid!, 'SIGTERM'), options.timeoutS * 1000) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const rate = (rows: number, s: number) => `${Math.round(rows / s).toLocaleString('en-US')} rows/s`;

/** The chat answers timed: every command that reads sales, at store, region and chain scope (each store-scoped line asks 20 stores). */
function commandLines(stores: number): ((i: number) => string)[] {
  const store = (i: number) => 1 + ((i * 7919) % stores);
  return [
    (i) => `forecast store ${store(i)} week 12`,
    () => 'model',
    (i) => `forecast store ${store(i)} dept 7 week 52`,
    (i) => `sales store ${store(i)}`,
    (i) => `sales store ${store(i)} dept 7`,
    (i) => `holiday-impact store ${store(i)}`,
    () => 'holiday-impact all',
    () => 'holiday-impact region South',
    () => 'top stores by growth',
    () => 'top depts by sales',
    // Area regressions: the warm-up's first ask computes and stores them when the refresh after
    // the import has not (analytics_results); the timed asks read them.
    () => 'drivers all',
    () => 'markdown-impact all',
    () => 'drivers region South',
    () => 'markdown-impact region South',
    (i) => `drivers store ${store(i)}`,
  ];
}

async function timeCommands(url: string, stores: number): Promise<void> {
  const config = loadConfig({ DATABASE_URL: url, STORECAST_ACCESS: 'open', STORECAST_RATE_LIMIT: '0', LOG_LEVEL: 'silent' });
  const { openPostgres } = await import('../src/db/client.ts');
  const db = await openPostgres(url);
  const logger = createLogger('silent');
  const forecaster = createForecaster(db, config, logger);
  const services = createServices({ config, db, logger, forecaster });
  try {
    for (const line of commandLines(stores)) {
      const once = async (i: number) => {
        const text = line(i);
        const [name, ...rest] = text.split(' ');
        const started = performance.now();
        const outcome = await services.run({ name: name!, text: rest.join(' ') }, asker);
        if (outcome.kind !== 'ok') throw new Error(`/${text}: ${outcome.reply.summary}`);
        const replied = performance.now();
        if (outcome.reply.chart) await renderPng(outcome.reply.chart.spec);
        return { total: performance.now() - started, reply: replied - started };
      };
      for (let i = 0; i < 3; i++) await once(1000 + i);
      const times: { total: number; reply: number }[] = [];
      for (let i = 0; i < runs; i++) times.push(await once(i));
      const label = line(0).replace(/store \d+/, 'store N');
      const total = times.map((x) => x.total);
      const reply = times.map((x) => x.reply);
      const ms = (v: number) => v.toFixed(0).padStart(5);
      console.log(`  /${label.padEnd(34)} p50 ${ms(pct(total, 0.5))} ms  p95 ${ms(pct(total, 0.95))} ms   (query + Reply alone: p50 ${ms(pct(reply, 0.5))}, p95 ${ms(pct(reply, 0.95))})`);
    }
    // What a serving process holds after answering all of them: no panel.
    console.log(`  this process (services + forecaster, as a replica): ${Math.round(process.memoryUsage().rss / 1048576)} MB RSS`);
  } finally {
    await forecaster.close();
    await db.close();
  }
}

/** The chain's stores, generated and imported (rows/s of train.csv printed). */
async function loadChain(stores: number, url: string, env: Record<string, string>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `storecast-scale-${stores}-`));
  try {
    const gen = await storecast(['demo', '--stores', String(stores), '--out', dir], {});
    if (gen.code !== 0) throw new Error(`demo --out failed: ${gen.stderr}`);
    console.log(`  generated CSVs in ${gen.seconds.toFixed(1)} s`);
    const imp = await storecast(['import', join(dir, 'stores.csv'), join(dir, 'features.csv'), join(dir, 'train.csv')], env);
    if (imp.code !== 0) throw new Error(`import failed: ${imp.stderr}`);
    const trainLine = /train\.csv \(train\): (\d+) rows read.* in ([\d.]+) s/.exec(imp.stdout);
    const rows = Number(trainLine?.[1] ?? 0);
    console.log(`  import (CLI, 3 files): ${imp.seconds.toFixed(1)} s; train.csv ${rows.toLocaleString('en-US')} rows in ${trainLine?.[2]} s = ${rate(rows, Number(trainLine?.[2]))}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `storecast train` and then the stored-forecasts job, each in its own process under /usr/bin/time. */
async function trainAndPrecompute(url: string, env: Record<string, string>): Promise<void> {
  const tr = await storecast(['train', ...(quickTrain ? ['--quick'] : [])], env, { timed: true, timeoutS: trainTimeoutS });
  const rss = Number(/peak-rss-kb (\d+)/.exec(tr.stderr)?.[1] ?? NaN);
  const peak = Number.isFinite(rss) ? `peak RSS ${(rss / 1024).toFixed(0)} MB` : 'peak RSS not reported (stopped)';
  const what = tr.code === 0 ? 'done' : tr.seconds >= trainTimeoutS ? `stopped at the ${trainTimeoutS} s limit` : `failed (exit ${tr.code}): ${tr.stderr.trim().split('\n').filter((l) => !l.startsWith('peak-rss')).slice(-1)[0]}`;
  console.log(`  storecast train${quickTrain ? ' --quick' : ''}: ${what} in ${tr.seconds.toFixed(0)} s, ${peak}`);
  if (tr.code !== 0) return;
  const script = fileURLToPath(new URL('./precompute.ts', import.meta.url));
  const started = performance.now();
  const pre = await new Promise<Run>((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'peak-rss-kb %M', process.execPath, '--import', 'tsx', script, url, '--force'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
  const preRss = Number(/peak-rss-kb (\d+)/.exec(pre.stderr)?.[1] ?? NaN);
  process.stdout.write(pre.stdout.split('\n').filter((l) => l.startsWith('  ')).map((l) => `  ${l}`).join('\n') + '\n');
  console.log(`  stored forecasts job: exit ${pre.code} in ${pre.seconds.toFixed(0)} s, peak RSS ${(preRss / 1024).toFixed(0)} MB${pre.code === 0 ? '' : `: ${pre.stderr.slice(-500)}`}`);
}

for (const stores of existing ? [0] : sizes) {
  const started = performance.now();
  const t = existing ? undefined : await createTestDatabase('postgres');
  const url = existing || t!.url!;
  const env = { DATABASE_URL: url, STORECAST_DEMO: 'never' };
  const { openPostgres } = await import('../src/db/client.ts');
  const db = await openPostgres(url);
  try {
    const settings = await db.query<{ name: string; setting: string; unit: string | null }>(
      "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'max_wal_size', 'synchronous_commit', 'checkpoint_timeout') ORDER BY name",
    );
    if (!existing) {
      console.log(`\n${stores.toLocaleString('en-US')} stores (Postgres ${url.replace(/^.*\//, '')}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores)`);
      console.log(`  server: ${settings.map((s) => `${s.name}=${s.setting}${s.unit ?? ''}`).join(', ')}`);
      await loadChain(stores, url, env);
    }
    const [{ n } = { n: 0 }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM stores');
    if (existing) console.log(`\n${n.toLocaleString('en-US')} stores (existing chain; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}); server: ${settings.map((s) => `${s.name}=${s.setting}${s.unit ?? ''}`).join(', ')}`);
    // stores.csv has no regions: give the stores the generator's, as `storecast demo --stores` does.
    await setRegions(db, generateChain(n).regions);
    // --after-only: only the answers from the stored forecasts (the ones before training come from seasonal naive).
    if (!args.includes('--after-only') || !train) await timeCommands(url, n);
    if (train) {
      await trainAndPrecompute(url, env);
      console.log('  the same answers, now from the stored forecasts:');
      await timeCommands(url, n);
    }
  } finally {
    await db.close();
    if (t && keep) console.log(`  kept: DATABASE_URL=${url}`);
    else if (t) await t.cleanup();
  }
  console.log(`  (${existing ? 'the chain' : `${stores} stores`} took ${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
}
