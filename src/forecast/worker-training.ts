import { Worker } from 'node:worker_threads';
import type { LogRow } from './forecast-log.ts';
import type { HoldoutComparison } from './holdout.ts';
import type { Calibration, Hyperparameters, Normalizer } from './model.ts';
import type { Panel } from './panel.ts';
import type { CombinationSettings } from './combination.ts';
import type * as tf from '@tensorflow/tfjs';
import { loadTf, type BackendPreference } from './tf.ts';
import type { EpochReport, TrainedModel } from './train.ts';

/** Runs train-worker.ts on a worker thread and rebuilds the trained network here. */

export interface WorkerJob {
  panel: Panel;
  until?: string;
  hyper: Partial<Hyperparameters>;
  backend: BackendPreference;
  champion?: { version: number; artifacts: tf.io.ModelArtifacts; hyper: Hyperparameters; calibration: Calibration; normalizer: Normalizer; combination?: CombinationSettings };
  /** Weeks the champion and the challenger are compared on (0: no comparison). */
  holdoutWeeks: number;
  /** Weeks ahead of every series for the forecast log (0: none). */
  logWeeks: number;
}

export interface WorkerResult {
  model: Omit<TrainedModel, 'network'> & { artifacts: tf.io.ModelArtifacts };
  backend: string;
  holdout?: HoldoutComparison;
  batch: LogRow[];
}

export type WorkerMessage =
  | { type: 'stage'; stage: 'training' | 'evaluating' }
  | { type: 'epoch'; report: EpochReport }
  | { type: 'done'; result: WorkerResult }
  | { type: 'error'; message: string };

const WORKER_URL = new URL('./train-worker.mjs', import.meta.url);

export interface TrainedInWorker extends Omit<WorkerResult, 'model'> {
  model: TrainedModel;
}

export async function trainInWorker(
  job: WorkerJob,
  options: { onEpoch?: (r: EpochReport) => void; onStage?: (stage: string) => void; signal?: AbortSignal } = {},
): Promise<TrainedInWorker> {
  // A signal that fired before this call (a shutdown while the panel loaded) never fires again.
  if (options.signal?.aborted) throw new Error('training stopped before it finished');
  const worker = new Worker(WORKER_URL, { workerData: job });
  const stop = () => void worker.terminate();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    const result = await new Promise<WorkerResult>((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'epoch') options.onEpoch?.(m.report);
        else if (m.type === 'stage') options.onStage?.(m.stage);
        else if (m.type === 'done') resolve(m.result);
        else reject(new Error(m.message));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(options.signal?.aborted ? 'training stopped before it finished' : `training worker exited (${code})`)));
    });
    const { artifacts, ...rest } = result.model;
    const tf = await loadTf();
    const network = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    return { ...result, model: { ...rest, network } };
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await worker.terminate();
  }
}
