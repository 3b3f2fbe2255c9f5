import { InvalidArgumentError, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { isFriday } from '../data/weeks.ts';
import { TrainingBusyError, trainAndRegister } from '../forecast/pipeline.ts';
import { QUICK_HYPERPARAMETERS } from '../forecast/model.ts';
import type { EpochReport } from '../forecast/train.ts';
import { EXIT_USAGE, withCli, type CliContext } from './context.ts';
import { activeVersion } from '../forecast/registry.ts';
import { retrain, retrainReply } from '../forecast/retrain.ts';
import { replyAsText } from '../chat/reply.ts';
import { adminChannelPoster } from '../delivery/admin-channel.ts';
import { deliveryPlatforms } from '../adapters/platforms.ts';
import type { Hyperparameters } from '../forecast/model.ts';

/**
 * `storecast train [--until DATE] [--epochs N] [--seed S] [--quick] [--no-activate] [--json]`:
 * trains the global model on the database's data, stores it in the model registry and (by
 * default) makes it the active model. Progress on stderr; the summary on stdout.
 */

export function parseFriday(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new InvalidArgumentError(`expected a date as YYYY-MM-DD, e.g. 2012-01-27`);
  }
  if (!isFriday(value)) throw new InvalidArgumentError(`weeks end on Fridays; ${value} is not a Friday`);
  return value;
}

export function parsePositiveInt(name: string, max = 10_000) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number 1..${max}`);
    return n;
  };
}

export function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31) throw new InvalidArgumentError('seed must be a whole number >= 0');
  return n;
}

/**
 * Runs a subcommand action and turns an unexpected failure into one clear line on stderr and
 * exit code 1. (An exception escaping into the tfjs wasm backend's process handlers would
 * otherwise print its whole minified source.)
 */
export function cliAction<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // With LOG_LEVEL=debug, withCli has logged the stack.
      process.stderr.write(`storecast: ${message}\n`);
      process.exitCode = 1;
    }
  };
}

/** A progress bar on stderr (a TTY), or one line per epoch otherwise. */
export function trainingProgress(label: string): { onBatch: (done: number, total: number, epoch: number) => void; onEpoch: (r: EpochReport) => void; stop: () => void } {
  const tty = process.stderr.isTTY === true;
  const bar = tty
    ? new SingleBar(
        { format: `${label} epoch {epoch}/{epochs} |{bar}| {percentage}% | val WMAE {val} | {elapsed}s`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
        Presets.shades_classic,
      )
    : undefined;
  let started = false;
  let epochs = 0;
  let val = '-';
  return {
    onBatch(done, total, epoch) {
      if (!bar) return;
      if (!started) {
        bar.start(total, 0, { epoch, epochs: epochs || '?', val });
        started = true;
      }
      bar.update(done, { epoch, epochs: epochs || '?', val });
    },
    onEpoch(r) {
      epochs = r.epochs;
      val = r.valWmae.toFixed(1);
      if (!bar) process.stderr.write(`${label} epoch ${r.epoch}/${r.epochs}: train loss ${r.trainLoss.toFixed(4)}, validation WMAE ${val} (${r.seconds.toFixed(0)} s)\n`);
    },
    stop() {
      if (started) bar?.stop();
    },
  };
}

/**
 * With an active model (and no --until), `storecast train` is a retrain: the new model is a
 * challenger, promoted only when it beats the champion on the held-out weeks by the margin.
 */
async function retrainFromCli(cli: CliContext, hyper: Partial<Hyperparameters>, opts: { activate: boolean; json?: boolean }): Promise<void> {
  const progress = trainingProgress('challenger');
  const outcome = await retrain(
    { ...cli, announce: adminChannelPoster(cli.config, deliveryPlatforms(cli.config)) },
    { trigger: 'cli', requestedBy: 'cli', hyper, promote: opts.activate ? 'auto' : 'never', onEpoch: progress.onEpoch, onStage: (stage) => !process.stderr.isTTY && process.stderr.write(`${stage}...\n`) },
  );
  progress.stop();
  if (opts.json) process.stdout.write(`${JSON.stringify(outcome)}\n`);
  else process.stdout.write(`${replyAsText(retrainReply(outcome))}\n`);
  if (outcome.decision === 'busy') process.exitCode = EXIT_USAGE;
  if (outcome.decision === 'failed') process.exitCode = 1;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('Train the forecasting model on the data in the database and register it. The first model becomes active; later ones are challengers, promoted only when better than the active model on the latest held-out weeks by STORECAST_RETRAIN_MARGIN.')
    .option('--until <date>', 'use weeks up to this Friday only (default: all data)', parseFriday)
    .option('--epochs <n>', 'maximum epochs (early stopping may end sooner)', parsePositiveInt('epochs', 1000))
    .option('--seed <s>', 'random seed: the same seed and data give the same model', parseSeed)
    .option('--quick', 'fewer rows and epochs (about a minute)')
    .option('--no-activate', 'register the model without making it active')
    .option('--json', 'print the result as JSON')
    .action(
      cliAction(async (opts: { until?: string; epochs?: number; seed?: number; quick?: boolean; activate: boolean; json?: boolean }) => {
      await withCli(async (cli) => {
        const { db, config, logger } = cli;
        const hyper = { ...(opts.quick ? QUICK_HYPERPARAMETERS : {}), ...(opts.epochs ? { epochs: opts.epochs } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : {}) };
        if (!opts.until && (await activeVersion(db)) !== undefined) return retrainFromCli(cli, hyper, opts);
        const progress = trainingProgress('training');
        let result;
        try {
          result = await trainAndRegister(db, config, logger, {
            until: opts.until,
            quick: opts.quick,
            hyper: { ...(opts.epochs ? { epochs: opts.epochs } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : {}) },
            activate: opts.activate ? 'always' : 'never',
            onBatch: progress.onBatch,
            onEpoch: progress.onEpoch,
            onStage: (stage) => {
              if (stage !== 'training' && !process.stderr.isTTY) process.stderr.write(`${stage}...\n`);
            },
          });
        } catch (err) {
          progress.stop();
          if (err instanceof TrainingBusyError || (err instanceof Error && /needs at least|too little data|no sales data/.test(err.message))) {
            process.stderr.write(`${err.message}\n`);
            process.exitCode = EXIT_USAGE;
            return;
          }
          throw err;
        }
        progress.stop();
        if (!result) return;
        result.model.network.dispose();
        const m = result.model.metrics;
        const summary = {
          version: result.version,
          active: result.activated,
          backend: result.backend,
          trainFrom: result.model.from,
          trainUntil: result.model.until,
          dataFingerprint: result.dataFingerprint,
          seed: result.model.hyper.seed,
          epochs: m.epochsRun,
          bestEpoch: m.bestEpoch,
          trainRows: m.trainRows,
          valRows: m.valRows,
          valWmae: m.valWmae,
          valBaseWmae: m.valBaseWmae,
          valCoverage: m.valCoverage,
          seconds: m.seconds,
          rowsPerSecond: m.rowsPerSecond,
        };
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(summary)}\n`);
          return;
        }
        process.stdout.write(
          [
            `Model v${result.version} trained on ${result.model.from} .. ${result.model.until} (${result.backend}, seed ${summary.seed})${result.activated ? ' and activated' : ' (not active; `storecast models activate ' + result.version + '`)'}.`,
            `  epochs ${m.epochsRun} (best ${m.bestEpoch}), ${m.trainRows.toLocaleString('en-US')} training rows, ${Math.round(m.rowsPerSecond).toLocaleString('en-US')} rows/s, ${m.seconds.toFixed(1)} s`,
            `  validation (last ${result.model.hyper.valWeeks} weeks): WMAE ${m.valWmae.toFixed(1)} vs ${m.valBaseWmae.toFixed(1)} for its statistical base; 80% interval coverage ${(m.valCoverage * 100).toFixed(1)}% (calibrated)`,
            `  data fingerprint ${result.dataFingerprint}`,
            '',
          ].join('\n'),
        );
      });
      }),
    );
}
