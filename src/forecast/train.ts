import { addWeeks } from '../data/weeks.ts';
import { FEATURE_COL, N_FEATURES, originState, targetInfo, writeFeatures, type OriginState, type TargetInfo } from './features.ts';
import {
  buildNetwork,
  decodeQuantiles,
  deptIndex,
  DEFAULT_HYPERPARAMETERS,
  applyNormalizer,
  candidates,
  CANDIDATE_INDEX,
  fitNormalizer,
  N_CANDIDATES,
  inputBuffers,
  inputTensors,
  networkInputs,
  pinballLoss,
  predictRaw,
  type Calibration,
  type Candidate,
  type Hyperparameters,
  type InputBuffers,
  type Normalizer,
} from './model.ts';
import { gridIndex, type Panel, type PanelSeries } from './panel.ts';
import { quantileSorted } from './seasonal-naive.ts';
import type * as tf from '@tensorflow/tfjs';
import { tfjs } from './tf.ts';
import { prng } from '../util/random.ts';
import { Wmae } from './wmae.ts';
import type { CombinationSettings } from './combination.ts';

/**
 * Training of the global model: samples from rolling origins (every `originStep` weeks, all
 * horizons 1..52, randomly thinned to `maxTrainRows`), a time-based validation split (targets
 * in the last `valWeeks` weeks before `until`, never trained on), Adam with seeded shuffling
 * and initialisation, early stopping on validation WMAE, then conformal calibration of the
 * interval on the validation split so the 80% interval covers ~80% of rows.
 */

/** What each row is scored against, one array per quantity. */
export interface SampleTargets {
  /** The actual, in units of the series' scale (clipped to +-20). */
  y: Float32Array;
  /** Loss weight: holiday weight x series scale, normalised to mean 1 per set. */
  weight: Float32Array;
  /** The statistical base forecast (scaled), for the baseline WMAE. */
  base: Float32Array;
}

export interface SampleSet {
  n: number;
  x: Float32Array;
  dept: Float32Array;
  target: SampleTargets;
  /** n x K candidate forecasts (scaled), kept before the features are standardised. */
  cands: Float32Array;
  scale: Float32Array;
  holiday: Uint8Array;
  series: Int32Array;
  targetWeek: Int32Array;
}

function allocate(n: number): SampleSet {
  return {
    n: 0,
    x: new Float32Array(n * N_FEATURES),
    dept: new Float32Array(n),
    target: { y: new Float32Array(n), weight: new Float32Array(n), base: new Float32Array(n) },
    cands: new Float32Array(n * N_CANDIDATES),
    scale: new Float32Array(n),
    holiday: new Uint8Array(n),
    series: new Int32Array(n),
    targetWeek: new Int32Array(n),
  };
}

export interface SampleOptions {
  /** Grid index of the last week that may be used (inclusive). */
  until: number;
  hyper: Hyperparameters;
  /**
   * Scale mode: each origin's rows come from this many series drawn at random for that
   * origin (a fresh draw per origin), so the sampling pass and the per-origin state cost
   * the same whatever the chain's size. Undefined: every series at every origin.
   */
  seriesPerOrigin?: number;
  /** Called between origins so a server can keep serving. */
  yieldEvery?: () => Promise<void>;
  /** Called after each origin with its picked rows and series (logging). */
  onOrigin?: (r: { origin: number; index: number; origins: number; rows: number; series: number }) => void;
}

function isHoliday(panel: Panel, week: string): boolean {
  return panel.holidayWeeks.has(week);
}

/** Origins used for training samples: every `step` weeks back from until-1, at least 13 weeks in. */
export function trainingOrigins(until: number, step: number): number[] {
  const out: number[] = [];
  for (let o = until - 1; o >= 13; o -= step) out.push(o);
  return out.reverse();
}

/**
 * Scale mode's series of each origin: `per` distinct series drawn with a seeded partial
 * Fisher-Yates (its own random stream, so the default mode's draws are untouched), sorted so
 * that rows stay in panel order. Undefined when every series fits.
 */
export function seriesSubsets(nSeries: number, origins: number, per: number | undefined, seed: number): Int32Array[] | undefined {
  if (per === undefined || per >= nSeries) return undefined;
  const rand = prng(seed + 7);
  const pool = Int32Array.from({ length: nSeries }, (_, i) => i);
  return Array.from({ length: origins }, () => {
    for (let i = 0; i < per; i++) {
      const j = i + Math.floor(rand() * (nSeries - i));
      const tmp = pool[i] as number;
      pool[i] = pool[j] as number;
      pool[j] = tmp;
    }
    return pool.slice(0, per).sort();
  });
}

/** The rows picked at one origin, in the order they are added (target week, then series). */
interface OriginPicks {
  series: number[];
  week: number[];
  val: boolean[];
}

/** Thinning state carried across origins: probabilities, the random stream, rows taken so far. */
interface Picker {
  panel: Panel;
  until: number;
  valStart: number;
  maxHorizon: number;
  pTrain: number;
  pVal: number;
  rand: () => number;
  room: { train: number; val: number };
}

/** Picks origin `o`'s rows among `subset` (all series when undefined), drawing exactly as the full pass always has. */
function pickRows(pk: Picker, o: number, subset: Int32Array | undefined): OriginPicks {
  const { panel } = pk;
  const out: OriginPicks = { series: [], week: [], val: [] };
  const count = subset ? subset.length : panel.series.length;
  for (let t = o + 1; t <= Math.min(o + pk.maxHorizon, pk.until); t++) {
    const isVal = t >= pk.valStart;
    for (let k = 0; k < count; k++) {
      const si = subset ? (subset[k] as number) : k;
      const s = panel.series[si] as PanelSeries;
      if (s.first > o || Number.isNaN(s.y[t] as number)) continue;
      if (pk.rand() >= (isVal ? pk.pVal : pk.pTrain)) continue;
      // Rows without a year of history are a different regime (all forecasts fall back
      // to recent levels); keep a tenth of them so the model still knows it.
      if (t < s.first + 52 && pk.rand() >= 0.1) continue;
      if (isVal ? pk.room.val <= 0 : pk.room.train <= 0) continue;
      if (isVal) pk.room.val--;
      else pk.room.train--;
      out.series.push(si);
      out.week.push(t);
      out.val.push(isVal);
    }
  }
  return out;
}

export async function buildSamples(panel: Panel, options: SampleOptions): Promise<{ train: SampleSet; val: SampleSet; origins: number[] }> {
  const { hyper, until } = options;
  const valStart = until - hyper.valWeeks + 1; // targets >= valStart are validation
  const origins = trainingOrigins(until, hyper.originStep);
  const subsets = seriesSubsets(panel.series.length, origins.length, options.seriesPerOrigin, hyper.seed);
  // Count candidates first so thinning hits the row budgets.
  const { nTrain, nVal } = countRows(panel, origins, until, valStart, hyper.maxHorizon, subsets);
  const train = allocate(Math.ceil(Math.min(nTrain, hyper.maxTrainRows * 1.05 + 1000)));
  const val = allocate(Math.ceil(Math.min(nVal, hyper.maxValRows * 1.05 + 1000)));
  const picker: Picker = {
    panel,
    until,
    valStart,
    maxHorizon: hyper.maxHorizon,
    pTrain: Math.min(1, hyper.maxTrainRows / Math.max(nTrain, 1)),
    pVal: Math.min(1, hyper.maxValRows / Math.max(nVal, 1)),
    rand: prng(hyper.seed),
    room: { train: train.dept.length, val: val.dept.length },
  };
  for (const [index, o] of origins.entries()) {
    const picks = pickRows(picker, o, subsets?.[index]);
    // The origin's state for the picked series only: per-series work scales with the rows
    // kept, not with the chain (department totals and the SVD still see every store).
    const ids = [...new Set(picks.series)];
    if (ids.length > 0) {
      const st = originState(panel, o, { svdRank: hyper.svdRank }, ids, false);
      let info: TargetInfo | undefined;
      for (let k = 0; k < picks.series.length; k++) {
        const t = picks.week[k] as number;
        const week = panel.weeks[t] as string;
        if (info?.week !== week) info = targetInfo(panel, o, week);
        addSample(picks.val[k] ? val : train, st, info, picks.series[k] as number, t, isHoliday(panel, week), hyper);
      }
    }
    options.onOrigin?.({ origin: o, index, origins: origins.length, rows: picks.series.length, series: ids.length });
    if (options.yieldEvery) await options.yieldEvery();
  }
  normaliseWeights(train);
  normaliseWeights(val);
  return { train, val, origins };
}

/** Rows available for training and validation before thinning (rows without a year of history count a tenth). */
function countRows(
  panel: Panel,
  origins: readonly number[],
  until: number,
  valStart: number,
  maxHorizon: number,
  subsets?: readonly Int32Array[],
): { nTrain: number; nVal: number } {
  let nTrain = 0;
  let nVal = 0;
  for (const [index, o] of origins.entries()) {
    const subset = subsets?.[index];
    const count = subset ? subset.length : panel.series.length;
    for (let t = o + 1; t <= Math.min(o + maxHorizon, until); t++) {
      for (let k = 0; k < count; k++) {
        const s = panel.series[subset ? (subset[k] as number) : k] as PanelSeries;
        if (s.first > o || Number.isNaN(s.y[t] as number)) continue;
        const share = t < s.first + 52 ? 0.1 : 1;
        if (t >= valStart) nVal += share;
        else nTrain += share;
      }
    }
  }
  return { nTrain, nVal };
}

/** Appends the row (series `si`, target week `t`): features, targets and candidate forecasts. */
function addSample(set: SampleSet, st: OriginState, info: TargetInfo, si: number, t: number, hol: boolean, hyper: Hyperparameters): void {
  const s = st.panel.series[si] as PanelSeries;
  const i = set.n++;
  const base = writeFeatures(st, si, info, set.x, i * N_FEATURES);
  const sc = st.scale[si] as number;
  set.dept[i] = deptIndex(s.dept, hyper.deptVocab);
  set.target.y[i] = Math.max(-20, Math.min(20, (s.y[t] as number) / sc));
  set.target.weight[i] = (hol ? hyper.holidayWeight : 1) * sc;
  set.target.base[i] = base;
  set.cands.set(candidates(set.x, i, i + 1), i * N_CANDIDATES);
  set.scale[i] = sc;
  set.holiday[i] = hol ? 1 : 0;
  set.series[i] = si;
  set.targetWeek[i] = t;
}

/** Normalises the weights to mean 1 (keeps the loss scale independent of the data's currency). */
function normaliseWeights(set: SampleSet): void {
  const w = set.target.weight;
  let sum = 0;
  for (let i = 0; i < set.n; i++) sum += w[i] as number;
  const m = sum / Math.max(set.n, 1);
  if (m > 0) for (let i = 0; i < set.n; i++) w[i] = (w[i] as number) / m;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  trainLoss: number;
  valWmae: number;
  seconds: number;
}

export interface TrainOptions {
  /** Last week used (inclusive); default the last week of the panel. */
  until?: string;
  hyper?: Partial<Hyperparameters>;
  onEpoch?: (r: EpochReport) => void;
  onBatch?: (done: number, total: number, epoch: number) => void;
  /** Stop training early (keeps the best weights so far). */
  signal?: AbortSignal;
  /** Scale mode (series sampled per origin); default: on above DEFAULT_SCALE.seriesThreshold series. */
  scale?: Partial<ScaleSettings>;
  /** Where training says what it does (rows and series sampled, memory); pino-style `info(fields, message)`. */
  logger?: TrainLogger;
}

export interface TrainLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

/**
 * Training at chain scale. What grows with the chain is the sampling pass (origins x
 * horizons x series) and the per-origin state of every series; the training set itself is
 * already bounded (maxTrainRows). Scale mode draws `seriesPerOrigin` series per origin, so
 * both stay flat: at 4,600 stores (~330k series) 5,000 series x 52 horizons per origin still
 * fill the row budget with ~2-3 rows per series, about what the 45-store data gives in full.
 */
export interface ScaleSettings {
  /** 'auto': on when the panel has more than `seriesThreshold` series; 'on' / 'off' force it. */
  mode: 'auto' | 'on' | 'off';
  seriesThreshold: number;
  seriesPerOrigin: number;
}

export const DEFAULT_SCALE: ScaleSettings = { mode: 'auto', seriesThreshold: 20_000, seriesPerOrigin: 5_000 };

/** Series per origin when scale mode is on for this panel, else undefined (every series). */
export function scaleSeriesPerOrigin(nSeries: number, scale: Partial<ScaleSettings> = {}): number | undefined {
  const s = { ...DEFAULT_SCALE, ...scale };
  const on = s.mode === 'on' || (s.mode === 'auto' && nSeries > s.seriesThreshold);
  return on ? s.seriesPerOrigin : undefined;
}

const rssMb = () => Math.round(process.memoryUsage.rss() / 2 ** 20);

export interface TrainMetrics {
  trainRows: number;
  valRows: number;
  epochsRun: number;
  bestEpoch: number;
  /** Validation WMAE (dollars) of the model's p50 and of its statistical base. */
  valWmae: number;
  valBaseWmae: number;
  valCoverage: number;
  calibration: Calibration;
  seconds: number;
  sampleSeconds: number;
  rowsPerSecond: number;
  /** 'scale': series sampled per origin (seriesPerOrigin); 'full': every series at every origin. */
  mode?: 'full' | 'scale';
  seriesPerOrigin?: number;
  /** Distinct series with at least one training row. */
  trainSeries?: number;
}

export interface TrainedModel {
  network: tf.LayersModel;
  hyper: Hyperparameters;
  calibration: Calibration;
  normalizer: Normalizer;
  /** Data window used for training. */
  from: string;
  until: string;
  metrics: TrainMetrics;
  /** How the members are combined (ensemble.ts); absent on a network trained alone. */
  combination?: CombinationSettings;
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** WMAE of a sample set in sales units, holiday rows weighted as configured. */
function wmaeOf(set: SampleSet, holidayWeight: number, p50: ArrayLike<number>, useBase = false): number {
  const wmae = new Wmae(holidayWeight);
  const pred = useBase ? set.target.base : p50;
  for (let i = 0; i < set.n; i++) {
    wmae.add(Math.abs((set.target.y[i] as number) - (pred[i] as number)) * (set.scale[i] as number), set.holiday[i] === 1);
  }
  return wmae.value();
}

async function predictSet(model: tf.LayersModel, set: SampleSet, levelRange: number, calibration?: Calibration) {
  const raw = await predictRaw(model, set.x, set.dept, set.n);
  return decodeQuantiles(raw, set.cands.subarray(0, set.n * N_CANDIDATES), calibration, levelRange);
}

/** Conformal widening: scales each half-width so 10% of validation rows fall below / above. */
export function calibrate(y: ArrayLike<number>, q: { p10: ArrayLike<number>; p50: ArrayLike<number>; p90: ArrayLike<number> }): Calibration {
  const lo: number[] = [];
  const hi: number[] = [];
  for (let i = 0; i < y.length; i++) {
    const m = q.p50[i] as number;
    const dl = Math.max(m - (q.p10[i] as number), 1e-6);
    const du = Math.max((q.p90[i] as number) - m, 1e-6);
    lo.push((m - (y[i] as number)) / dl);
    hi.push(((y[i] as number) - m) / du);
  }
  if (lo.length === 0) return { lower: 1, upper: 1 };
  const ql = quantileSorted(Float64Array.from(lo).sort(), 0.9);
  const qh = quantileSorted(Float64Array.from(hi).sort(), 0.9);
  return { lower: Math.max(0.05, ql), upper: Math.max(0.05, qh) };
}

/** The run's hyperparameters and last grid week; throws when the data is too short to train on. */
function trainingWindow(panel: Panel, options: TrainOptions): { hyper: Hyperparameters; until: number } {
  const hyper: Hyperparameters = { ...DEFAULT_HYPERPARAMETERS, ...options.hyper };
  if (panel.weeks.length === 0) throw new Error('no sales data to train on');
  const untilWeek = options.until ?? (panel.weeks.at(-1) as string);
  const until = Math.min(gridIndex(panel, untilWeek), panel.weeks.length - 1);
  if (until < 52 + hyper.valWeeks) {
    throw new Error(`training needs at least ${52 + hyper.valWeeks + 1} weeks of data up to ${untilWeek}; found ${until + 1}`);
  }
  // A loop, not Math.max(...spread): 330k series overflow the call stack.
  let maxDept = -Infinity;
  for (const s of panel.series) if (s.dept > maxDept) maxDept = s.dept;
  hyper.deptVocab = Math.max(hyper.deptVocab, Math.min(maxDept + 1, 1000));
  return { hyper, until };
}

/** Trains the global network alone (ensemble.ts `trainModel` adds the combination). */
export async function trainNetwork(panel: Panel, options: TrainOptions = {}): Promise<TrainedModel> {
  const { hyper, until } = trainingWindow(panel, options);
  const seriesPerOrigin = scaleSeriesPerOrigin(panel.series.length, options.scale);
  const log = options.logger;
  const mode = seriesPerOrigin === undefined ? 'full' : 'scale';
  log?.info({ mode, series: panel.series.length, seriesPerOrigin, weeks: until + 1, rssMb: rssMb() }, `training: ${mode} mode`);
  const t0 = performance.now();
  const { train, val, origins } = await buildSamples(panel, {
    until,
    hyper,
    seriesPerOrigin,
    yieldEvery: nextTick,
    onOrigin: log
      ? (r) => {
          if (r.index % 8 === 0 || r.index === r.origins - 1) log.info({ ...r, rssMb: rssMb() }, `training samples: origin ${r.index + 1}/${r.origins}`);
        }
      : undefined,
  });
  const sampleSeconds = (performance.now() - t0) / 1000;
  if (train.n < 100 || val.n < 20) throw new Error(`too little data to train: ${train.n} training and ${val.n} validation rows`);
  const trainSeries = distinctSeries(train);
  log?.info({ trainRows: train.n, valRows: val.n, trainSeries, origins: origins.length, seconds: sampleSeconds, rssMb: rssMb() }, 'training samples built');

  const normalizer = fitNormalizer(train.x, train.n);
  applyNormalizer(train.x, train.n, normalizer);
  applyNormalizer(val.x, val.n, normalizer);
  const network = buildNetwork(hyper);
  const onEpoch = (r: EpochReport) => {
    log?.info({ ...r, rssMb: rssMb() }, `training epoch ${r.epoch}/${r.epochs}`);
    options.onEpoch?.(r);
  };
  const fit = await fitNetwork(network, train, val, hyper, { ...options, onEpoch });
  const check = await calibrateOnValidation(network, val, hyper);
  return {
    network,
    hyper,
    calibration: check.calibration,
    normalizer,
    from: panel.weeks[0] as string,
    until: panel.weeks[until] as string,
    metrics: {
      trainRows: train.n,
      valRows: val.n,
      epochsRun: fit.epochsRun,
      bestEpoch: fit.bestEpoch,
      valWmae: check.valWmae,
      valBaseWmae: check.valBaseWmae,
      valCoverage: check.coverage,
      calibration: check.calibration,
      seconds: (performance.now() - t0) / 1000,
      sampleSeconds,
      rowsPerSecond: (train.n * fit.epochsRun) / Math.max(fit.trainSeconds, 1e-9),
      mode,
      seriesPerOrigin,
      trainSeries,
    },
  };
}

function distinctSeries(set: SampleSet): number {
  return new Set(set.series.subarray(0, set.n)).size;
}

/** Optimisation state of one training run, allocated once (training allocates no garbage per batch). */
interface Trainer {
  network: tf.LayersModel;
  optimizer: tf.Optimizer;
  hyper: Hyperparameters;
  train: SampleSet;
  /** Kernels the loss can move (the level head is inert when levelRange is 0). */
  kernels: tf.LayersModel['weights'];
  /** Row order of the current epoch. */
  order: Int32Array;
  batches: number;
  inputs: InputBuffers;
  batch: { y: Float32Array; weight: Float32Array; cands: Float32Array };
}

function createTrainer(network: tf.LayersModel, train: SampleSet, hyper: Hyperparameters): Trainer {
  const tf = tfjs();
  return {
    network,
    optimizer: tf.train.adam(hyper.learningRate),
    hyper,
    train,
    kernels: network.weights.filter((w) => w.name.includes('kernel') && (hyper.levelRange > 0 || !w.name.startsWith('level'))),
    order: new Int32Array(train.n),
    batches: Math.ceil(train.n / hyper.batchSize),
    inputs: inputBuffers(hyper.batchSize, hyper.deptVocab),
    batch: { y: new Float32Array(hyper.batchSize), weight: new Float32Array(hyper.batchSize), cands: new Float32Array(hyper.batchSize * N_CANDIDATES) },
  };
}

/** The best validation WMAE so far and a copy of the weights that reached it. */
interface Best {
  wmae: number;
  epoch: number;
  weights: tf.Tensor[];
}

function snapshot(network: tf.LayersModel, wmae: number, epoch: number): Best {
  return { wmae, epoch, weights: network.getWeights().map((w) => w.clone()) };
}

/** Adam with seeded shuffling and early stopping on validation WMAE; leaves the best weights in `network`. */
async function fitNetwork(
  network: tf.LayersModel,
  train: SampleSet,
  val: SampleSet,
  hyper: Hyperparameters,
  options: TrainOptions,
): Promise<{ epochsRun: number; bestEpoch: number; trainSeconds: number }> {
  const tr = createTrainer(network, train, hyper);
  const rand = prng(hyper.seed + 1);
  // Epoch 0 (the untrained network, i.e. the statistical forecast) is a candidate too: if
  // training never beats it on validation, that is what gets kept.
  const initial = await predictSet(network, val, hyper.levelRange);
  let best = snapshot(network, wmaeOf(val, hyper.holidayWeight, initial.p50), 0);
  let epochsRun = 0;
  const tTrain = performance.now();
  try {
    for (let epoch = 1; epoch <= hyper.epochs; epoch++) {
      if (options.signal?.aborted) break;
      shuffle(tr.order, rand);
      const trainLoss = await runEpoch(tr, epoch, options.onBatch);
      epochsRun = epoch;
      const q = await predictSet(network, val, hyper.levelRange);
      const valWmae = wmaeOf(val, hyper.holidayWeight, q.p50);
      options.onEpoch?.({ epoch, epochs: hyper.epochs, trainLoss, valWmae, seconds: (performance.now() - tTrain) / 1000 });
      if (valWmae < best.wmae - 1e-9) {
        best.weights.forEach((w) => w.dispose());
        best = snapshot(network, valWmae, epoch);
      } else if (epoch - best.epoch >= hyper.patience) {
        break;
      }
      await nextTick();
    }
    network.setWeights(best.weights);
  } finally {
    best.weights.forEach((w) => w.dispose());
    tr.optimizer.dispose();
  }
  return { epochsRun, bestEpoch: best.epoch, trainSeconds: (performance.now() - tTrain) / 1000 };
}

/** Seeded Fisher-Yates shuffle of 0..n-1 into `order`. */
function shuffle(order: Int32Array, rand: () => number): void {
  for (let i = 0; i < order.length; i++) order[i] = i;
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = order[i] as number;
    order[i] = order[j] as number;
    order[j] = tmp;
  }
}

/** One pass over the training rows in `tr.order`; returns the mean loss of every 20th batch. */
async function runEpoch(tr: Trainer, epoch: number, onBatch: TrainOptions['onBatch']): Promise<number> {
  const { hyper } = tr;
  (tr.optimizer as unknown as { learningRate: number }).learningRate = hyper.learningRate * (epoch > 15 ? 0.5 : 1); // halved for long runs
  let lossSum = 0;
  for (let b = 0; b < tr.batches; b++) {
    const from = b * hyper.batchSize;
    const loss = trainBatch(tr, from, Math.min(tr.train.n, from + hyper.batchSize));
    if (loss) {
      if (b % 20 === 0) lossSum += (await loss.data())[0] as number;
      loss.dispose();
    }
    onBatch?.(b + 1, tr.batches, epoch);
    if (b % 4 === 3) await nextTick();
  }
  return lossSum / Math.max(1, Math.ceil(tr.batches / 20));
}

/** One Adam step on the rows order[from..to); returns the batch loss. */
function trainBatch(tr: Trainer, from: number, to: number): tf.Scalar | null {
  const { hyper, train, order } = tr;
  const m = to - from;
  const inp = networkInputs(train.x, train.dept, hyper.deptVocab, from, to, order, tr.inputs);
  const y = tr.batch.y.subarray(0, m);
  const weight = tr.batch.weight.subarray(0, m);
  const cands = tr.batch.cands.subarray(0, m * N_CANDIDATES);
  for (let r = 0; r < m; r++) {
    const i = order[from + r] as number;
    y[r] = train.target.y[i] as number;
    weight[r] = train.target.weight[i] as number;
    cands.set(train.cands.subarray(i * N_CANDIDATES, (i + 1) * N_CANDIDATES), r * N_CANDIDATES);
  }
  return tr.optimizer.minimize(() => tfjs().tidy(() => batchLoss(tr, inp, y, weight, cands)), true);
}

/** Weighted pinball loss of one batch, plus the L2 penalty on the kernels. */
function batchLoss(tr: Trainer, inp: ReturnType<typeof networkInputs>, y: Float32Array, weight: Float32Array, cands: Float32Array): tf.Scalar {
  const tf = tfjs();
  const { hyper } = tr;
  const m = inp.n;
  const raw = tr.network.apply(inputTensors(inp, hyper.deptVocab), { training: true }) as tf.Tensor2D;
  const fit = pinballLoss(tf.tensor2d(y, [m, 1]), tf.tensor2d(weight, [m, 1]), tf.tensor2d(cands, [m, N_CANDIDATES]), raw, hyper.levelRange);
  if (!hyper.weightDecay) return fit;
  // L2 on the kernels: pulls the network towards its statistical prior (the biases carry
  // the prior and are not penalised).
  const penalty = tr.kernels.reduce((acc: tf.Tensor, k) => acc.add(tf.sum(tf.square(k.read()))), tf.scalar(0));
  return fit.add(penalty.mul(hyper.weightDecay)) as tf.Scalar;
}

/** Conformal calibration of the interval on the validation split, and the final validation metrics. */
async function calibrateOnValidation(
  network: tf.LayersModel,
  val: SampleSet,
  hyper: Hyperparameters,
): Promise<{ calibration: Calibration; coverage: number; valWmae: number; valBaseWmae: number }> {
  const q = await predictSet(network, val, hyper.levelRange);
  const yVal = Float64Array.from(val.target.y.subarray(0, val.n));
  const calibration = calibrate(yVal, q);
  const qc = await predictSet(network, val, hyper.levelRange, calibration);
  let covered = 0;
  for (let i = 0; i < val.n; i++) if ((yVal[i] as number) >= (qc.p10[i] as number) && (yVal[i] as number) <= (qc.p90[i] as number)) covered++;
  return {
    calibration,
    coverage: covered / Math.max(val.n, 1),
    valWmae: wmaeOf(val, hyper.holidayWeight, q.p50),
    valBaseWmae: wmaeOf(val, hyper.holidayWeight, q.p50, true),
  };
}

/** False when avail2 was constant 0 in the training window: the model never saw two years of history. */
function learnedTwoYears(normalizer: Normalizer): boolean {
  return !(normalizer.std[FEATURE_COL.avail2] === 0 && normalizer.mean[FEATURE_COL.avail2] === 0);
}

/** Each one-year seasonal candidate and the two-year blend that replaces it (useTwoYearBlends). */
const TWO_YEAR_BLEND: ReadonlyArray<readonly [Candidate, Candidate]> = [
  ['sn1', 'snavg'],
  ['sn1_svd', 'snavg_svd'],
];

/**
 * A model whose training window never had two years of history could not learn how to
 * weigh them (its "two-year" candidates always equalled the one-year ones). Where two years
 * exist now, every seasonal candidate uses the fixed two-year blend: less noise, same role.
 */
function useTwoYearBlends(cands: Float32Array, n: number): void {
  for (let r = 0; r < n; r++) {
    const row = r * N_CANDIDATES;
    for (const [oneYear, blend] of TWO_YEAR_BLEND) cands[row + CANDIDATE_INDEX[oneYear]] = cands[row + CANDIDATE_INDEX[blend]] as number;
  }
}

export interface SeriesForecast {
  series: number;
  weeks: string[];
  p10: Float64Array;
  p50: Float64Array;
  p90: Float64Array;
}

/**
 * The network's forecasts of `horizon` weeks after grid index `origin` for the given series
 * (all with history by the origin; others are skipped). Values in dollars. The served forecast
 * combines it with the statistical members: ensemble.ts `forecastSeries`.
 */
export async function networkForecast(
  model: { network: tf.LayersModel; hyper: Hyperparameters; calibration: Calibration; normalizer: Normalizer },
  panel: Panel,
  origin: number,
  seriesIds: readonly number[],
  horizon: number,
): Promise<SeriesForecast[]> {
  const ids = seriesIds.filter((si) => (panel.series[si] as PanelSeries).first <= origin);
  if (ids.length === 0) return [];
  const st = originState(panel, origin, { svdRank: model.hyper.svdRank }, ids);
  const originWeek = origin < panel.weeks.length ? (panel.weeks[origin] as string) : addWeeks(panel.weeks[0] as string, origin);
  const weeks = Array.from({ length: horizon }, (_, h) => addWeeks(originWeek, h + 1));
  const infos = weeks.map((w) => targetInfo(panel, origin, w));
  const n = ids.length * horizon;
  const x = new Float32Array(n * N_FEATURES);
  const dept = new Float32Array(n);
  const base = new Float32Array(n);
  let r = 0;
  for (const si of ids) {
    const d = deptIndex((panel.series[si] as PanelSeries).dept, model.hyper.deptVocab);
    for (const info of infos) {
      base[r] = writeFeatures(st, si, info, x, r * N_FEATURES);
      dept[r] = d;
      r++;
    }
  }
  const cands = candidates(x, 0, n);
  if (!learnedTwoYears(model.normalizer)) useTwoYearBlends(cands, n);
  applyNormalizer(x, n, model.normalizer);
  const raw = await predictRaw(model.network, x, dept, n);
  const q = decodeQuantiles(raw, cands, model.calibration, model.hyper.levelRange ?? 0);
  return ids.map((si, k) => {
    const sc = st.scale[si] as number;
    const pick = (a: Float64Array) => Float64Array.from(a.subarray(k * horizon, (k + 1) * horizon), (v) => v * sc);
    return { series: si, weeks, p10: pick(q.p10), p50: pick(q.p50), p90: pick(q.p90) };
  });
}
