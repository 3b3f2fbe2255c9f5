import type { Command } from 'commander';
import { activateModel, listModels, ModelNotFoundError, type ModelSummary } from '../forecast/registry.ts';
import { precomputeForecasts } from '../forecast/precompute.ts';
import { refreshAreaAnswers } from '../analytics/area-answers.ts';
import { EXIT_USAGE, withCli } from './context.ts';
import { cliAction, parsePositiveInt } from './train.ts';

/**
 * `storecast models [--json]` lists the registry; `storecast models activate V` rolls back or
 * forward; `storecast models precompute` computes the stored forecasts (a job runner's task when
 * replicas run with STORECAST_FORECAST_PRECOMPUTE=off).
 */

function fmt(v: unknown, digits = 1): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

export function modelTable(models: ModelSummary[]): string {
  const header = ['', 'version', 'status', 'created (UTC)', 'trained on', 'backend', 'val WMAE', 'coverage', 'fingerprint'];
  const rows = models.map((m) => [
    m.active ? '*' : '',
    `v${m.version}`,
    m.status,
    m.createdAt.slice(0, 16),
    m.trainFrom && m.trainUntil ? `${m.trainFrom} .. ${m.trainUntil}` : '-',
    m.backend ?? '-',
    fmt(m.metrics?.valWmae),
    typeof m.metrics?.valCoverage === 'number' ? `${(m.metrics.valCoverage * 100).toFixed(1)}%` : '-',
    m.dataFingerprint ?? (m.error ? `error: ${m.error.slice(0, 40)}` : '-'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function register(program: Command): void {
  const models = program
    .command('models')
    .description('List trained forecasting models (* = active); `models activate V` switches the active one.')
    .option('--json', 'print JSON')
    .action(
      cliAction(async (opts: { json?: boolean }) => {
        await withCli(async ({ db }) => {
          const all = await listModels(db);
          if (opts.json) return void process.stdout.write(`${JSON.stringify(all)}\n`);
          if (all.length === 0) return void process.stdout.write('No models yet. Train one with `storecast train` (the server also trains one on first start).\n');
          process.stdout.write(`${modelTable(all)}\n`);
        });
      }),
    );

  models
    .command('activate')
    .description('Make model version V the active one; running servers pick it up within seconds.')
    .argument('<version>', 'model version (e.g. 3 or v3)', (v: string) => parsePositiveInt('version', 2 ** 31 - 1)(v.replace(/^v/i, '')))
    .action(
      cliAction(async (version: number) => {
      await withCli(async ({ db }) => {
        try {
          await activateModel(db, version);
        } catch (err) {
          if (err instanceof ModelNotFoundError) {
            process.stderr.write(`${err.message}\n`);
            process.exitCode = EXIT_USAGE;
            return;
          }
          throw err;
        }
        process.stdout.write(`Model v${version} is now active.\n`);
      });
      }),
    );

  models
    .command('precompute')
    .description("Compute the active model's forecasts of every series at the latest week into the stored forecasts (skipped when they are current or another process computes them), and the chain's and regions' /drivers and /markdown-impact answers for the current data.")
    .option('--json', 'print the outcome as JSON')
    .action(
      cliAction(async (opts: { json?: boolean }) => {
        await withCli(async ({ db, config, logger }) => {
          const o = await precomputeForecasts({ db, logger, config });
          const areas = await refreshAreaAnswers(db);
          if (opts.json) return void process.stdout.write(`${JSON.stringify({ ...o, areaAnswers: areas })}\n`);
          process.stdout.write(`area answers (/drivers, /markdown-impact of the chain and regions): ${areas.computed} computed in ${(areas.ms / 1000).toFixed(1)} s\n`);
          if (o.status === 'computed') process.stdout.write(`model v${o.version}: ${o.series} series of ${o.stores} stores from ${o.origin} stored in ${o.seconds?.toFixed(1)} s (peak RSS ${o.peakRssMb} MB)\n`);
          else process.stdout.write(`${o.status}: ${o.reason}\n`);
          if (o.status === 'failed') process.exitCode = 1;
        });
      }),
    );
}
