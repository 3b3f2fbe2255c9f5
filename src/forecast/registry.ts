import type { Database, SqlSession } from '../db/client.ts';
import type { Calibration, Hyperparameters, Normalizer } from './model.ts';
import { CANDIDATES, LEVEL_FEATURES } from './model.ts';
import { FEATURE_NAMES } from './features.ts';
import type * as tf from '@tensorflow/tfjs';
import { loadTf } from './tf.ts';
import type { TrainedModel, TrainMetrics } from './train.ts';
import type { CombinationSettings } from './combination.ts';
import { heartbeat } from '../util/heartbeat.ts';

/**
 * The model registry in Postgres (table model_registry). Weights go in and out through tfjs
 * IOHandlers backed by the database, so every replica loads the same bytes; one row is
 * active, and the server re-reads which one every few seconds.
 */

export const MODEL_NAME = 'global-mlp';
/** Bumped when features or decoding change incompatibly; older rows cannot be loaded. */
export const FORMAT_VERSION = 1;

export interface ModelMeta {
  formatVersion: number;
  featureNames: readonly string[];
  candidates: readonly string[];
  levelFeatures: readonly string[];
  normalizer: Normalizer;
  calibration: Calibration;
  /** The members' combination (ensemble.ts); absent on rows saved before it existed (network alone). */
  combination?: CombinationSettings;
}

export interface ModelSummary {
  version: number;
  name: string;
  status: 'training' | 'ready' | 'failed';
  active: boolean;
  createdAt: string;
  finishedAt: string | null;
  trainFrom: string | null;
  trainUntil: string | null;
  dataFingerprint: string | null;
  backend: string | null;
  hyperparameters: Partial<Hyperparameters> | null;
  metrics: (Partial<TrainMetrics> & Record<string, unknown>) | null;
  error: string | null;
}

export interface LoadedModel {
  version: number;
  label: string;
  network: tf.LayersModel;
  hyper: Hyperparameters;
  calibration: Calibration;
  normalizer: Normalizer;
  trainUntil: string;
  combination?: CombinationSettings;
}

/** Lock id for claiming a training run (pg_advisory_xact_lock). */
const TRAIN_LOCK = 7261002;
/** A 'training' row older than this is considered abandoned (crashed replica). */
/**
 * A training claim whose process has not renewed its heartbeat for this long was abandoned
 * (the process died): it no longer blocks training, and the next claim marks it failed. A
 * live run renews it every minute (keepTrainingAlive), however long it trains.
 */
export const STALE_TRAINING_MINUTES = 5;

type Row = {
  version: number;
  name: string;
  status: ModelSummary['status'];
  active: boolean;
  created_at: string;
  finished_at: string | null;
  train_from: string | null;
  train_until: string | null;
  data_fingerprint: string | null;
  backend: string | null;
  hyperparameters: unknown;
  metrics: unknown;
  error: string | null;
};

const SUMMARY_COLUMNS = `version, name, status, active, created_at::text AS created_at, finished_at::text AS finished_at,
  train_from::text AS train_from, train_until::text AS train_until, data_fingerprint, backend, hyperparameters, metrics, error`;

function json<T>(v: unknown): T | null {
  if (v === null || v === undefined) return null;
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

function summary(r: Row): ModelSummary {
  return {
    version: Number(r.version),
    name: r.name,
    status: r.status,
    active: r.active,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    trainFrom: r.train_from,
    trainUntil: r.train_until,
    dataFingerprint: r.data_fingerprint,
    backend: r.backend,
    hyperparameters: json(r.hyperparameters),
    metrics: json(r.metrics),
    error: r.error,
  };
}

export async function listModels(db: Database): Promise<ModelSummary[]> {
  const rows = await db.query<Row>(`SELECT ${SUMMARY_COLUMNS} FROM model_registry ORDER BY version`);
  return rows.map(summary);
}

export async function getModel(db: Database, version: number): Promise<ModelSummary | undefined> {
  const [row] = await db.query<Row>(`SELECT ${SUMMARY_COLUMNS} FROM model_registry WHERE version = $1`, [version]);
  return row ? summary(row) : undefined;
}

export async function activeVersion(db: Pick<SqlSession, 'query'>): Promise<number | undefined> {
  const [row] = await db.query<{ version: number }>(`SELECT version FROM model_registry WHERE active AND status = 'ready'`);
  return row ? Number(row.version) : undefined;
}

/** True while some run (this process or another replica) is training. */
export async function trainingInProgress(db: Pick<SqlSession, 'query'>): Promise<boolean> {
  const [row] = await db.query<{ n: number | string }>(
    `SELECT count(*) AS n FROM model_registry WHERE status = 'training' AND coalesce(heartbeat_at, created_at) > now() - interval '${STALE_TRAINING_MINUTES} minutes'`,
  );
  return Number(row?.n ?? 0) > 0;
}

export class ModelNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}

/** Makes `version` the active model (rollback or roll forward). Only a ready model can be active. */
/**
 * Makes `version` the active model. With `replacing` (a version, or null for none) it switches
 * only while that is still the active model and returns false otherwise: a retrain compared
 * its challenger with the champion it started from, not with one an admin activated meanwhile.
 */
export async function activateModel(db: Database, version: number, options: { replacing?: number | null } = {}): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ status: string }>('SELECT status FROM model_registry WHERE version = $1 FOR UPDATE', [version]);
    if (!row) throw new ModelNotFoundError(`model version ${version} does not exist (see \`storecast models\`)`);
    if (row.status !== 'ready') throw new ModelNotFoundError(`model version ${version} is ${row.status}, not ready; only a ready model can be activated`);
    if (options.replacing !== undefined) {
      const [active] = await tx.query<{ version: number }>('SELECT version FROM model_registry WHERE active FOR UPDATE');
      if ((active ? Number(active.version) : null) !== options.replacing) return false;
    }
    await tx.query('UPDATE model_registry SET active = false WHERE active AND version <> $1', [version]);
    await tx.query('UPDATE model_registry SET active = true WHERE version = $1', [version]);
    return true;
  });
}

/**
 * Claims a training run: inserts a 'training' row and returns its version, or undefined when
 * another run is already training (or, with `onlyIfNoModel`, when a ready model exists).
 * Serialised by an advisory lock, so replicas starting together train once.
 */
export async function claimTraining(db: Database, options: { onlyIfNoModel?: boolean } = {}): Promise<number | undefined> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [TRAIN_LOCK]);
    if (await trainingInProgress(tx)) return undefined;
    await tx.query(
      `UPDATE model_registry SET status = 'failed', finished_at = now(), error = 'abandoned: its process stopped renewing the claim'
        WHERE status = 'training' AND coalesce(heartbeat_at, created_at) <= now() - interval '${STALE_TRAINING_MINUTES} minutes'`,
    );
    if (options.onlyIfNoModel) {
      const [ready] = await tx.query<{ n: number | string }>(`SELECT count(*) AS n FROM model_registry WHERE status = 'ready'`);
      if (Number(ready?.n ?? 0) > 0) return undefined;
    }
    const [row] = await tx.query<{ version: number }>(`INSERT INTO model_registry (name, status, heartbeat_at) VALUES ($1, 'training', now()) RETURNING version`, [MODEL_NAME]);
    return Number(row?.version);
  });
}

/** Renews a training claim every minute until the returned function is called. */
export function keepTrainingAlive(db: Pick<SqlSession, 'query'>, version: number): () => void {
  return heartbeat(() => db.query(`UPDATE model_registry SET heartbeat_at = now() WHERE version = $1 AND status = 'training'`, [version]), 60_000);
}

export async function failTraining(db: Database, version: number, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  await db.query(`UPDATE model_registry SET status = 'failed', finished_at = now(), error = $2 WHERE version = $1`, [version, message.slice(0, 2000)]);
}

function concatWeights(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  if (!Array.isArray(data)) return new Uint8Array(data);
  const total = data.reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), off);
    off += b.byteLength;
  }
  return out;
}

/** A tfjs IOHandler that writes the model's topology and weights into a model_registry row. */
export function databaseSaveHandler(db: Pick<SqlSession, 'query'>, version: number): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (!artifacts.weightData || !artifacts.weightSpecs) throw new Error('model has no weights to save');
      const weights = concatWeights(artifacts.weightData as ArrayBuffer | ArrayBuffer[]);
      const [row] = await db.query<{ artifacts: unknown }>('SELECT artifacts FROM model_registry WHERE version = $1', [version]);
      const existing = json<Record<string, unknown>>(row?.artifacts) ?? {};
      const stored = { ...existing, modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, format: artifacts.format, generatedBy: artifacts.generatedBy };
      await db.query('UPDATE model_registry SET artifacts = $2::jsonb, weights = $3 WHERE version = $1', [version, JSON.stringify(stored), Buffer.from(weights)]);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}

/** A tfjs IOHandler that reads a model_registry row back. */
export function databaseLoadHandler(db: Pick<SqlSession, 'query'>, version: number): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const [row] = await db.query<{ artifacts: unknown; weights: Uint8Array | null }>('SELECT artifacts, weights FROM model_registry WHERE version = $1', [version]);
      if (!row || !row.weights) throw new ModelNotFoundError(`model version ${version} has no stored weights`);
      const a = json<{ modelTopology: object; weightSpecs: tf.io.WeightsManifestEntry[]; format?: string; generatedBy?: string }>(row.artifacts);
      if (!a?.modelTopology || !a.weightSpecs) throw new ModelNotFoundError(`model version ${version} has no stored topology`);
      const bytes = row.weights;
      const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      return { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData, format: a.format, generatedBy: a.generatedBy };
    },
  };
}

export interface SaveInfo {
  backend: string;
  dataFingerprint: string;
  /** Extra metrics to store (e.g. a backtest). */
  extraMetrics?: Record<string, unknown>;
}

/** Stores a trained model in its claimed row and marks it ready (and active if asked). */
export async function saveTrainedModel(db: Database, version: number, model: TrainedModel, info: SaveInfo, activate: boolean): Promise<void> {
  const meta: ModelMeta = {
    formatVersion: FORMAT_VERSION,
    featureNames: FEATURE_NAMES,
    candidates: CANDIDATES,
    levelFeatures: LEVEL_FEATURES,
    normalizer: model.normalizer,
    calibration: model.calibration,
    combination: model.combination,
  };
  await db.query(
    `UPDATE model_registry SET artifacts = $2::jsonb, hyperparameters = $3::jsonb, metrics = $4::jsonb, backend = $5,
            data_fingerprint = $6, train_from = $7::date, train_until = $8::date WHERE version = $1`,
    [
      version,
      JSON.stringify({ meta }),
      JSON.stringify(model.hyper),
      JSON.stringify({ ...model.metrics, ...info.extraMetrics }),
      info.backend,
      info.dataFingerprint,
      model.from,
      model.until,
    ],
  );
  await model.network.save(databaseSaveHandler(db, version));
  await db.query(`UPDATE model_registry SET status = 'ready', finished_at = now() WHERE version = $1`, [version]);
  if (activate) await activateModel(db, version);
}

/** A ready model's settings, refused when it is not ready or was trained on another feature set. */
async function readyModel(db: Database, version: number): Promise<Omit<LoadedModel, 'network'>> {
  const [row] = await db.query<{ artifacts: unknown; hyperparameters: unknown; train_until: string | null; status: string; name: string }>(
    'SELECT artifacts, hyperparameters, train_until::text AS train_until, status, name FROM model_registry WHERE version = $1',
    [version],
  );
  if (!row) throw new ModelNotFoundError(`model version ${version} does not exist`);
  if (row.status !== 'ready') throw new ModelNotFoundError(`model version ${version} is ${row.status}`);
  const artifacts = json<{ meta?: ModelMeta }>(row.artifacts);
  const meta = artifacts?.meta;
  if (!meta || meta.formatVersion !== FORMAT_VERSION || meta.featureNames.join() !== FEATURE_NAMES.join()) {
    throw new ModelNotFoundError(`model version ${version} was trained with a different feature set; train a new model`);
  }
  return {
    version,
    label: `${row.name} v${version}`,
    hyper: json<Hyperparameters>(row.hyperparameters) as Hyperparameters,
    calibration: meta.calibration,
    normalizer: meta.normalizer,
    combination: meta.combination,
    trainUntil: row.train_until ?? '',
  };
}

export async function loadModel(db: Database, version: number): Promise<LoadedModel> {
  const settings = await readyModel(db, version);
  return { ...settings, network: await (await loadTf()).loadLayersModel(databaseLoadHandler(db, version)) };
}

/** A ready model's artifacts and settings as plain data: what a training worker needs to score it (no network built here). */
export async function modelForWorker(
  db: Database,
  version: number,
): Promise<{ version: number; artifacts: tf.io.ModelArtifacts; hyper: Hyperparameters; calibration: Calibration; normalizer: Normalizer; combination?: CombinationSettings }> {
  const { hyper, calibration, normalizer, combination } = await readyModel(db, version);
  const artifacts = await databaseLoadHandler(db, version).load!();
  return { version, artifacts, hyper, calibration, normalizer, combination };
}
