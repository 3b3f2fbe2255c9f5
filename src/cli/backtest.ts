import type { Command } from 'commander';
import { runBacktest, METHOD_DESCRIPTIONS, type BacktestReport } from '../forecast/backtest.ts';
import type { CombinationSettings } from '../forecast/combination.ts';
import { loadPanel } from '../forecast/dataset.ts';
import { QUICK_HYPERPARAMETERS } from '../forecast/model.ts';
import { ensureBackend } from '../forecast/tf.ts';
import { EXIT_USAGE, withCli } from './context.ts';
import { cliAction, parseFriday, parsePositiveInt, parseSeed, trainingProgress } from './train.ts';

/**
 * `storecast backtest --origin DATE --horizon H [--json] [--epochs N] [--seed S] [--quick]`:
 * trains on weeks <= origin only, forecasts H weeks and scores every store x dept row against
 * the baselines, computed in the same run.
 */

export function backtestTable(r: BacktestReport): string {
  const sn = r.results.find((x) => x.name === 'seasonal-naive');
  const header = ['method', 'WMAE', 'vs seasonal-naive', 'MAE', 'store WMAE', '80% coverage'];
  const rows = r.results.map((x) => [
    x.name,
    x.wmae.toFixed(1),
    sn ? `${((x.wmae / sn.wmae) * 100).toFixed(1)}%` : '-',
    x.mae.toFixed(1),
    x.storeWmae.toFixed(1),
    `${(x.coverage * 100).toFixed(1)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [
    `Backtest: trained on weeks <= ${r.origin}, forecast ${r.horizon} weeks, ${r.rows.toLocaleString('en-US')} store x dept rows scored (holiday weeks weigh 5).`,
    '',
    line(header),
    ...rows.map(line),
    '',
    ...r.results.map((x) => `  ${x.name}: ${METHOD_DESCRIPTIONS[x.name] ?? ''}`),
    `  model: ${r.model.metrics.epochsRun} epochs, ${r.model.metrics.trainRows.toLocaleString('en-US')} training rows; run took ${r.seconds.toFixed(0)} s`,
    ...groupLine(r.model.combination),
  ].join('\n');
}

/** Whether the combination weighs departments their own way, and the inner-window check that decided it. */
function groupLine(c: CombinationSettings | undefined): string[] {
  if (!c?.groupCheck) return [];
  const n = Object.keys(c.groupWeights ?? {}).length;
  const check = `held-out inner weeks: ${c.groupCheck.grouped.toFixed(1)} per department, ${c.groupCheck.global.toFixed(1)} with one weight vector`;
  return [`  combination: ${n ? `${n} departments weighted their own way` : 'one weight vector for every department'} (${check})`];
}

export function register(program: Command): void {
  program
    .command('backtest')
    .description('Train on weeks <= origin, forecast H weeks, score against seasonal naive and other baselines.')
    .requiredOption('--origin <date>', 'last week used for training (a Friday), e.g. 2012-01-27', parseFriday)
    .requiredOption('--horizon <weeks>', 'weeks to forecast and score, 1..52', parsePositiveInt('horizon', 52))
    .option('--epochs <n>', 'maximum epochs', parsePositiveInt('epochs', 1000))
    .option('--seed <s>', 'random seed', parseSeed)
    .option('--quick', 'train a quick model (fewer rows and epochs)')
    .option('--json', 'print {"origin","horizon","rows","results":[{"name","wmae","mae","storeWmae","coverage"}]}')
    .action(
      cliAction(async (opts: { origin: string; horizon: number; epochs?: number; seed?: number; quick?: boolean; json?: boolean }) => {
      await withCli(async ({ db, config, logger }) => {
        await ensureBackend(config.tfBackend, logger);
        const panel = await loadPanel(db);
        if (panel.weeks.length === 0) {
          process.stderr.write('No sales data in the database. Import some first (`storecast import <files>`).\n');
          process.exitCode = EXIT_USAGE;
          return;
        }
        const progress = trainingProgress('backtest');
        let report: BacktestReport;
        try {
          report = await runBacktest(panel, {
            origin: opts.origin,
            horizon: opts.horizon,
            hyper: {
              ...(opts.quick ? QUICK_HYPERPARAMETERS : {}),
              ...(opts.epochs ? { epochs: opts.epochs } : {}),
              ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
            },
            onBatch: progress.onBatch,
            onEpoch: progress.onEpoch,
            // STORECAST_TRAIN_SCALE=on measures scale-mode training on the same data.
            scale: config.trainScale,
          });
        } catch (err) {
          progress.stop();
          if (err instanceof RangeError || (err instanceof Error && /needs at least|too little data/.test(err.message))) {
            process.stderr.write(`${err.message}\n`);
            process.exitCode = EXIT_USAGE;
            return;
          }
          throw err;
        }
        progress.stop();
        if (opts.json) {
          const { origin, horizon, rows, results } = report;
          process.stdout.write(`${JSON.stringify({ origin, horizon, rows, results })}\n`);
        } else {
          process.stdout.write(`${backtestTable(report)}\n`);
        }
      });
      }),
    );
}
