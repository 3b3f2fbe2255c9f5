import { parentPort, workerData } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';
import { batchForecastRows, compareOnHoldout } from './holdout.ts';
import { ensureBackend, tfjs } from './tf.ts';
import { trainModel } from './ensemble.ts';
import type { WorkerJob, WorkerMessage } from './worker-training.ts';

/**
 * The CPU-heavy half of a retrain, on its own thread so the server's event loop keeps
 * answering: train the challenger, compare it with the champion on the held-out weeks, and
 * forecast every series for the forecast log. The database stays with the main thread
 * (PGlite lives in one thread); data comes in as a Panel and the model goes back as artifacts.
 */

const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => parentPort?.postMessage(m, transfer);

async function artifactsOf(network: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  const tf = tfjs();
  let captured: tf.io.ModelArtifacts | undefined;
  await network.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = captured as tf.io.ModelArtifacts;
  const parts = Array.isArray(a.weightData) ? a.weightData : [a.weightData as ArrayBuffer];
  const total = parts.reduce((n, b) => n + b.byteLength, 0);
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const b of parts) {
    bytes.set(new Uint8Array(b), off);
    off += b.byteLength;
  }
  return { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData: bytes.buffer, format: a.format, generatedBy: a.generatedBy };
}

async function run(job: WorkerJob): Promise<void> {
  const { backend } = await ensureBackend(job.backend);
  const tf = tfjs();
  post({ type: 'stage', stage: 'training' });
  const model = await trainModel(job.panel, { until: job.until, hyper: job.hyper, onEpoch: (report) => post({ type: 'epoch', report }) });
  post({ type: 'stage', stage: 'evaluating' });
  const champion = job.champion ? { ...job.champion, network: await tf.loadLayersModel(tf.io.fromMemory(job.champion.artifacts)) } : undefined;
  const holdout = job.holdoutWeeks > 0 ? await compareOnHoldout(job.panel, model, champion, job.holdoutWeeks) : undefined;
  const origin = job.panel.weeks.indexOf(model.until);
  const batch = job.logWeeks > 0 && origin >= 0 ? await batchForecastRows(model, job.panel, origin, job.logWeeks) : [];
  const artifacts = await artifactsOf(model.network);
  const { network: _network, ...rest } = model;
  post({ type: 'done', result: { model: { ...rest, artifacts }, backend, holdout, batch } }, [artifacts.weightData as ArrayBuffer]);
}

run(workerData as WorkerJob).catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
