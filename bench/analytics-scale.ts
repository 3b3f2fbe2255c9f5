// /drivers and /markdown-impact at chain scale: time and peak RSS of salesDrivers and
// markdownImpact on synthetic panels of 45, 450 and 4,600 stores x 143 weeks, or, given a
// Postgres URL, on that chain (the whole chain and region South: loadPanel + each fit), the
// refresh the worker runs after an import (every area answer ahead, from empty), and the
// chat commands through the services with their charts: cold (computed and stored), from the
// memo, and from the store on a second connection (another replica).
// Every measurement runs in its own child process, so "peak" is that step's process peak
// (getrusage maxRSS; a sampling timer would miss the synchronous fits): compare it with the
// RSS printed before the step. The synthetic panels are built as rows, then put in columns
// (as loadPanelColumns reads them) and the rows collected before the fit.
// The panel steps open the database read only (default_transaction_read_only=on); the command
// steps write (their audit rows, and analytics_results, which they empty first).
// Run: npx tsx bench/analytics-scale.ts [DATABASE_URL]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;
const peak = () => process.resourceUsage().maxRSS * 1024;
const self = fileURLToPath(import.meta.url);

const readOnly = (url: string) => `${url}${url.includes('?') ? '&' : '?'}default_transaction_read_only=on`;

async function child(args: string[]): Promise<void> {
  const [what, ...rest] = args;
  if (what === 'synthetic') {
    const { syntheticPanel } = await import('../test/analytics-synthetic.ts');
    const { salesDrivers } = await import('../src/analytics/drivers.ts');
    const { markdownImpact } = await import('../src/analytics/markdowns.ts');
    const { panelColumns } = await import('../src/analytics/panel.ts');
    const stores = Number(rest[0]);
    // In columns, as loadPanelColumns gives the commands (the rows are dropped before the fit).
    const rows = panelColumns(syntheticPanel(stores, { ragged: true }));
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage().rss;
    const started = performance.now();
    const out = rest[1] === 'drivers' ? salesDrivers(rows) : markdownImpact(rows);
    const ms = performance.now() - started;
    console.log(`  ${rest[1]!.padEnd(10)} ${String(stores).padStart(5)} stores ${String(rows.n).padStart(7)} store-weeks ${ms.toFixed(0).padStart(7)} ms   panel ${mb(before)}, peak ${mb(peak())} RSS${out ? '' : ' (no answer)'}`);
  } else if (what === 'panel') {
    const { openPostgres } = await import('../src/db/client.ts');
    const { loadPanelColumns } = await import('../src/analytics/panel.ts');
    const { salesDrivers } = await import('../src/analytics/drivers.ts');
    const { markdownImpact } = await import('../src/analytics/markdowns.ts');
    const db = await openPostgres(readOnly(rest[0]!));
    await db.query('SELECT 1');
    const ready = process.memoryUsage().rss;
    const scope = rest[1] === 'chain' ? ({ kind: 'chain' } as const) : ({ kind: 'region', region: rest[1]! } as const);
    let t = performance.now();
    const rows = await loadPanelColumns(db, scope);
    const load = performance.now() - t;
    const loaded = process.memoryUsage().rss;
    t = performance.now();
    const fit = rest[2] === 'drivers' ? salesDrivers(rows) : markdownImpact(rows);
    const ms = performance.now() - t;
    console.log(`  ${rest[2]!.padEnd(10)} ${rest[1]!.padEnd(6)} ${String(rows.n).padStart(7)} store-weeks: loadPanelColumns ${load.toFixed(0).padStart(5)} ms (RSS ${mb(ready)} -> ${mb(loaded)}), fit ${ms.toFixed(0).padStart(5)} ms, peak ${mb(peak())} RSS${fit ? '' : ' (no answer)'}`);
    await db.close();
  } else if (what === 'refresh') {
    // What the worker runs after an import: every area answer ahead (chain + regions), from empty.
    const { openPostgres } = await import('../src/db/client.ts');
    const { refreshAreaAnswers } = await import('../src/analytics/area-answers.ts');
    const db = await openPostgres(rest[0]!);
    await db.query('DELETE FROM analytics_results');
    const start = process.memoryUsage().rss;
    const r = await refreshAreaAnswers(db);
    console.log(`  refresh after an import (chain + every region, /drivers and /markdown-impact): ${r.computed} answers in ${(r.ms / 1000).toFixed(1)} s, peak ${mb(peak())} RSS (${mb(start)} at start)`);
    await db.close();
  } else if (what === 'command') {
    const { loadConfig } = await import('../src/config.ts');
    const { createLogger } = await import('../src/logger.ts');
    const { createForecaster } = await import('../src/forecast/index.ts');
    const { createServices } = await import('../src/services.ts');
    const { openPostgres } = await import('../src/db/client.ts');
    const { renderPng } = await import('../charts/index.ts');
    // Not read only: the first ask stores its answer (analytics_results) for the second "replica".
    const url = rest[0]!;
    const config = loadConfig({ DATABASE_URL: url, STORECAST_ACCESS: 'open', STORECAST_RATE_LIMIT: '0', LOG_LEVEL: 'silent', STORECAST_FORECAST_PRECOMPUTE: 'off' });
    const logger = createLogger('silent');
    const replica = async () => {
      const db = await openPostgres(url);
      return { db, services: createServices({ config, db, logger, forecaster: createForecaster(db, config, logger, { precompute: false, unstoredOrigins: 'stored' }) }) };
    };
    const [a, b] = [await replica(), await replica()];
    const text = rest[1]!;
    const [name, ...words] = text.split(' ');
    await a.db.query('DELETE FROM analytics_results');
    const start = process.memoryUsage().rss;
    for (const [run, services] of [['cold (computes, stores)', a.services], ['memo', a.services], ['other replica (stored)', b.services]] as const) {
      const started = performance.now();
      const out = await services.run({ name: name!, text: words.join(' ') }, { platform: 'cli', roles: [] });
      if (out.kind === 'ok' && out.reply.chart) await renderPng(out.reply.chart.spec);
      console.log(`  /${text.padEnd(30)} ${run.padEnd(23)}: ${out.kind} ${(performance.now() - started).toFixed(0).padStart(6)} ms, peak ${mb(peak())} RSS (${mb(start)} at start)`);
    }
    await Promise.all([a.db.close(), b.db.close()]);
  }
  process.exit(0);
}

function run(args: string[]): void {
  process.stdout.write(execFileSync(process.execPath, [...process.execArgv, '--expose-gc', self, '--child', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}

if (process.argv[2] === '--child') {
  await child(process.argv.slice(3));
} else {
  const url = process.argv[2];
  if (!url) {
    console.log('salesDrivers and markdownImpact on synthetic panels (143 weeks, ragged stores, missing driver weeks)');
    for (const stores of [45, 450, 4600]) for (const fn of ['drivers', 'markdowns']) run(['synthetic', String(stores), fn]);
  } else {
    console.log(`salesDrivers and markdownImpact on ${url.replace(/\/\/[^@]*@/, '//')}`);
    for (const scope of ['chain', 'South']) for (const fn of ['drivers', 'markdowns']) run(['panel', url, scope, fn]);
    run(['refresh', url]);
    console.log('chat commands through the services, with their charts');
    for (const text of ['drivers all', 'markdown-impact all', 'drivers region South', 'markdown-impact region South', 'drivers store 5', 'markdown-impact store 5']) run(['command', url, text]);
  }
}
