import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { dataFingerprint, loadPanel } from './dataset.ts';
import { QUICK_HYPERPARAMETERS, type Hyperparameters } from './model.ts';
import { activeVersion, claimTraining, failTraining, keepTrainingAlive, saveTrainedModel } from './registry.ts';
import { ensureBackend } from './tf.ts';
import { trainModel } from './ensemble.ts';
import type { EpochReport, TrainedModel } from './train.ts';
import { logForecasts } from './forecast-log.ts';
import { batchForecastRows } from './holdout.ts';

/** Train on the database's data and register the result: what `storecast train` and first start run. */

export interface TrainRunOptions {
  until?: string;
  hyper?: Partial<Hyperparameters>;
  /** Fewer rows and epochs (first start on demo data): a minute or two. */
  quick?: boolean;
  /** Make the new model active: 'always', 'if-none' (first start) or 'never'. Default 'always'. */
  activate?: 'always' | 'if-none' | 'never';
  /** Skip (return undefined) when a ready model already exists. */
  onlyIfNoModel?: boolean;
  onEpoch?: (r: EpochReport) => void;
  onBatch?: (done: number, total: number, epoch: number) => void;
  onStage?: (stage: 'loading' | 'samples' | 'training' | 'saving') => void;
  signal?: AbortSignal;
  /** Weeks ahead of every series written to the forecast log for live accuracy (default 13; 0: none). */
  logWeeks?: number;
}

export interface TrainRunResult {
  version: number;
  model: TrainedModel;
  backend: string;
  dataFingerprint: string;
  activated: boolean;
}

export class TrainingBusyError extends Error {
  constructor() {
    super('another training run is in progress (see `storecast models`)');
    this.name = 'TrainingBusyError';
  }
}

export async function trainAndRegister(db: Database, config: Pick<Config, 'tfBackend'> & Partial<Pick<Config, 'trainScale'>>, logger: Logger, options: TrainRunOptions = {}): Promise<TrainRunResult | undefined> {
  const version = await claimTraining(db, { onlyIfNoModel: options.onlyIfNoModel });
  if (version === undefined) {
    if (options.onlyIfNoModel) return undefined;
    throw new TrainingBusyError();
  }
  const stopHeartbeat = keepTrainingAlive(db, version);
  try {
    // After the claim: a replica that finds a model registered (every start but the first) never loads TensorFlow.js.
    const { backend } = await ensureBackend(config.tfBackend, logger);
    options.onStage?.('loading');
    const panel = await loadPanel(db, { until: options.until, signal: options.signal });
    const fingerprint = await dataFingerprint(db, options.until);
    options.onStage?.('samples');
    const hyper = { ...(options.quick ? QUICK_HYPERPARAMETERS : {}), ...options.hyper };
    const model = await trainModel(panel, {
      until: options.until,
      hyper,
      onEpoch: (r) => {
        options.onStage?.('training');
        options.onEpoch?.(r);
      },
      onBatch: options.onBatch,
      signal: options.signal,
      scale: config.trainScale,
      logger,
    });
    if (options.signal?.aborted) throw new Error('training stopped before it finished');
    options.onStage?.('saving');
    const mode = options.activate ?? 'always';
    const activate = mode === 'always' || (mode === 'if-none' && (await activeVersion(db)) === undefined);
    await saveTrainedModel(db, version, model, { backend, dataFingerprint: fingerprint }, activate);
    const logWeeks = options.logWeeks ?? 13;
    const originIdx = panel.weeks.indexOf(model.until);
    if (logWeeks > 0 && originIdx >= 0) await logForecasts(db, version, 'batch', await batchForecastRows(model, panel, originIdx, logWeeks));
    logger.info({ version, backend, metrics: model.metrics, activated: activate }, `model v${version} trained`);
    return { version, model, backend, dataFingerprint: fingerprint, activated: activate };
  } catch (err) {
    await failTraining(db, version, err).catch(() => {});
    throw err;
  } finally {
    stopHeartbeat();
  }
}
