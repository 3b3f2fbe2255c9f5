import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { Hyperparameters } from './model.ts';
import { StoredForecaster } from './stored-forecaster.ts';
import { trainAndRegister, type TrainRunResult } from './pipeline.ts';

/**
 * What the server wires:
 *
 *   const forecaster = createForecaster(db, config, logger);
 *   if (config.trainOnStart) startBackgroundTraining(db, config, logger, { forecaster });
 *
 * The forecaster answers with the active registry model, and with seasonal naive (and a
 * note saying so) until one exists.
 */

export type { Forecaster, ForecastPoint, ForecastResult, SeriesKey } from './forecaster.ts';
export { ModelForecaster, FALLBACK_NOTES } from './model-forecaster.ts';
export { StoredForecaster } from './stored-forecaster.ts';
export { precomputeForecasts, type PrecomputeDeps, type PrecomputeOutcome } from './precompute.ts';
export { SeasonalNaiveForecaster, seasonalNaive } from './seasonal-naive.ts';
export { trainAndRegister } from './pipeline.ts';

/**
 * Forecasts read from the stored forecasts table (stored-forecaster.ts): no sales panel in
 * this process. With `precompute` (a serving replica, STORECAST_FORECAST_PRECOMPUTE=on) it
 * also starts the precompute when the active model or the data moved; a CLI command, which
 * may exit at any moment, only reads.
 */
export function createForecaster(
  db: Database,
  config: Pick<Config, 'tfBackend'> & { modelOps?: Pick<Config['modelOps'], 'forecastRetention'> },
  logger: Logger,
  options: { precompute?: boolean; unstoredOrigins?: 'compute' | 'stored' } = {},
): StoredForecaster {
  const precompute = options.precompute ? { tfBackend: config.tfBackend, modelOps: { forecastRetention: config.modelOps?.forecastRetention ?? DEFAULT_RETENTION } } : undefined;
  return new StoredForecaster(db, { logger, tfBackend: config.tfBackend, precompute, unstoredOrigins: options.unstoredOrigins });
}

/** Origins kept when a caller passes no setting (STORECAST_FORECAST_RETENTION's default). */
const DEFAULT_RETENTION = 4;

export interface BackgroundTraining {
  /** Resolves with the new model (undefined when none was needed or training failed). Never rejects. */
  done: Promise<TrainRunResult | undefined>;
  /** Stops training at the next batch (keeps nothing; the claimed row is marked failed). */
  stop(): void;
}

/**
 * First start: if no model is registered, trains a quick model on whatever data is in the
 * database, in the background (yielding to the event loop between batches), and activates
 * it. Failures are logged, never thrown: the server keeps answering with seasonal naive.
 */
export function startBackgroundTraining(
  db: Database,
  config: Pick<Config, 'tfBackend'>,
  logger: Logger,
  options: { forecaster?: { invalidate(): void }; quick?: boolean; delayMs?: number; hyper?: Partial<Hyperparameters> } = {},
): BackgroundTraining {
  const controller = new AbortController();
  const done = (async () => {
    // Let the server finish starting (and answer its first requests) before the CPU work.
    await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 1000));
    if (controller.signal.aborted) return undefined;
    try {
      const started = Date.now();
      const result = await trainAndRegister(db, config, logger, {
        quick: options.quick ?? true,
        hyper: options.hyper,
        onlyIfNoModel: true,
        activate: 'if-none',
        signal: controller.signal,
        onStage: (stage) => logger.debug({ stage }, 'background training'),
      });
      if (!result) {
        logger.info('a model is registered (or another replica is training it); no background training');
        return undefined;
      }
      result.model.network.dispose();
      options.forecaster?.invalidate();
      logger.info(
        { version: result.version, seconds: Math.round((Date.now() - started) / 1000), valWmae: result.model.metrics.valWmae, backend: result.backend },
        `background training finished: model v${result.version} is ${result.activated ? 'active' : 'registered'}`,
      );
      return result;
    } catch (err) {
      if (controller.signal.aborted) logger.info('background training stopped');
      else logger.error({ err }, 'background training failed; forecasts keep using seasonal naive');
      return undefined;
    }
  })();
  return { done, stop: () => controller.abort() };
}
