import type * as tf from '@tensorflow/tfjs';
import { tfjs } from './tf.ts';
import { FEATURE_COL, HIDDEN_FEATURES, N_FEATURES, type FeatureName } from './features.ts';

/**
 * The network. Inputs: standardised, season-neutral features (relative differences between
 * the statistical forecasts, growth rates, holiday flags, store type/size, markdowns,
 * volatility, horizon) and a department embedding. Two ReLU layers and a linear head (which
 * also sees the inputs directly) produce, per row:
 *
 *   - one logit per candidate forecast (CANDIDATES: seasonal naive one year back, its SVD
 *     smoothing, the two-year blends of both, the department "product" forecast), each
 *     already multiplied by the statistical growth level;
 *   - two interval widths b, c;
 *   - a level correction (off by default, see `levelRange`).
 *
 *   p50 = softmax(logits) . candidates x exp(levelRange x tanh(level))
 *   p10 = p50 - softplus(b) x (|p50| + 0.2),   p90 = p50 + softplus(c) x (|p50| + 0.2)
 *
 * So the median is always a convex mix of seasonal forecasts (last year's holiday peaks carry
 * over even when the training window held no such week), the quantiles never cross, and the
 * untrained network already forecasts the statistical blend (`priorLogits`). Trained with
 * pinball loss weighted by (holidayWeight on holiday weeks, 5 by default) x (series scale): in
 * the scaled space that is the competition's WMAE in dollars. After training, the interval is
 * widened or narrowed by a conformal factor per side so that 80% of validation rows fall inside.
 */

export interface Hyperparameters {
  hidden: number[];
  embedDim: number;
  /** Department ids 0..deptVocab-1 get their own embedding; others share id 0. */
  deptVocab: number;
  learningRate: number;
  batchSize: number;
  epochs: number;
  patience: number;
  seed: number;
  svdRank: number;
  /** Training origins every `originStep` weeks. */
  originStep: number;
  maxTrainRows: number;
  maxValRows: number;
  /** The last `valWeeks` weeks of targets form the validation split. */
  valWeeks: number;
  maxHorizon: number;
  /** Weight of holiday weeks in the loss and the metric. */
  holidayWeight: number;
  /**
   * Initial mixture logits, one per candidate (CANDIDATES order): what the untrained
   * network forecasts. Default: half the two-year blend raw, half SVD-smoothed.
   */
  priorLogits: number[];
  /**
   * The learned level multiplier stays within exp(+-levelRange). 0 (default) turns the
   * learned level off and keeps the statistical growth level: in backtests at three origins
   * a learned level fitted the growth of the training window and did not carry over (the
   * data has under three years, so every window's growth is one draw).
   */
  levelRange: number;
  /**
   * L2 penalty on the kernels, pulling the network towards its statistical prior. Matters
   * most for early origins (little training data): backtests at 2011-08-26 and 2011-10-28
   * improved ~2-3% with it, later origins moved by ~1% either way.
   */
  weightDecay: number;
}

export const DEFAULT_HYPERPARAMETERS: Hyperparameters = {
  hidden: [64, 32],
  embedDim: 4,
  deptVocab: 100,
  learningRate: 0.002,
  batchSize: 1024,
  epochs: 16,
  patience: 4,
  seed: 42,
  svdRank: 10,
  originStep: 4,
  maxTrainRows: 400_000,
  maxValRows: 120_000,
  valWeeks: 13,
  maxHorizon: 52,
  holidayWeight: 5,
  priorLogits: [0, 0, 2, 2, 0],
  levelRange: 0,
  weightDecay: 0.001,
};

/** Settings for a quick model (first start on demo data): fewer rows and epochs. */
export const QUICK_HYPERPARAMETERS: Partial<Hyperparameters> = {
  maxTrainRows: 120_000,
  maxValRows: 50_000,
  epochs: 12,
  patience: 3,
  originStep: 6,
};

export function deptIndex(dept: number, vocab: number): number {
  return dept > 0 && dept < vocab ? dept : 0;
}

/**
 * Inputs of the level head: the series' own context (growth, volatility, store, horizon,
 * promotions), nothing about the shape of the target week. A level that could see "this is
 * a peak week" learns mean reversion from the noise spikes of ordinary weeks and then
 * shrinks the Christmas peak, which repeats every year.
 */
export const LEVEL_FEATURES = [
  'avail1',
  'avail2',
  'yoy4',
  'yoy13',
  'yoy_dept13',
  'avail_share',
  'log_level',
  'horizon',
  'type_a',
  'type_b',
  'type_c',
  'size',
  'markdown',
  'markdown_src',
  'temp_diff',
  'volatility',
  'log_scale',
  'sparsity',
] as const satisfies readonly FeatureName[];
export const LEVEL_COLS = LEVEL_FEATURES.map((c) => FEATURE_COL[c]);

export function buildNetwork(h: Hyperparameters): tf.LayersModel {
  const tf = tfjs();
  let seed = h.seed * 7919;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const x = tf.input({ shape: [N_FEATURES], name: 'features' });
  // The department embedding as a bias-free dense layer on a one-hot input: the same thing
  // as an Embedding layer, but its gradient is a matMul, which every backend has (the
  // Embedding gradient needs UnsortedSegmentSum, missing on wasm).
  const dept = tf.input({ shape: [h.deptVocab], name: 'dept' });
  const xl = tf.input({ shape: [LEVEL_COLS.length], name: 'level_features' });
  const embFlat = tf.layers
    .dense({ units: h.embedDim, useBias: false, kernelInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: seed++ }), name: 'dept_embedding' })
    .apply(dept) as tf.SymbolicTensor;
  let hidden = tf.layers.concatenate().apply([x, embFlat]) as tf.SymbolicTensor;
  h.hidden.forEach((units, i) => {
    hidden = tf.layers.dense({ units, activation: 'relu', kernelInitializer: init(), name: `hidden_${i}` }).apply(hidden) as tf.SymbolicTensor;
  });
  const head = tf.layers.concatenate().apply([x, embFlat, hidden]) as tf.SymbolicTensor;
  const mixAndWidth = tf.layers
    .dense({ units: N_OUTPUTS - MIX_WIDTH_FIRST, kernelInitializer: 'zeros', biasInitializer: 'zeros', name: 'mix_width' })
    .apply(head) as tf.SymbolicTensor;
  const levelIn = tf.layers.concatenate().apply([xl, embFlat]) as tf.SymbolicTensor;
  const levelHidden = tf.layers
    .dense({ units: 16, activation: 'relu', kernelInitializer: init(), name: 'level_hidden' })
    .apply(levelIn) as tf.SymbolicTensor;
  const level = tf.layers
    .dense({ units: 1, kernelInitializer: 'zeros', biasInitializer: 'zeros', name: 'level' })
    .apply(tf.layers.concatenate().apply([levelIn, levelHidden]) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const out = tf.layers.concatenate({ name: 'outputs' }).apply([level, mixAndWidth]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [x, dept, xl], outputs: out, name: 'storecast_quantiles' });
  // Start from the statistical forecast (priorLogits: by default ~44% raw and ~44% SVD
  // two-year blend), level multiplier 1. Training moves away only where that helps.
  const mixLayer = model.getLayer('mix_width');
  const [kernel] = mixLayer.getWeights() as [tf.Tensor, tf.Tensor];
  const b = new Float32Array(N_OUTPUTS - MIX_WIDTH_FIRST);
  h.priorLogits.forEach((v, k) => {
    if (k < N_CANDIDATES) b[OUTPUT.logits - MIX_WIDTH_FIRST + k] = v;
  });
  const bias = tf.tensor1d(b);
  mixLayer.setWeights([kernel, bias]); // copies the values into the layer's variables
  bias.dispose();
  return model;
}

/** The three input tensors' data for rows `from..to` (in `order` when given) of standardised features. */
export interface InputBuffers {
  x: Float32Array;
  dept: Float32Array;
  level: Float32Array;
}

/** Buffers for batches of up to `rows` rows, reused across batches (training allocates no garbage per batch). */
export function inputBuffers(rows: number, vocab: number): InputBuffers {
  return { x: new Float32Array(rows * N_FEATURES), dept: new Float32Array(rows * vocab), level: new Float32Array(rows * LEVEL_COLS.length) };
}

export function networkInputs(
  x: Float32Array,
  dept: ArrayLike<number>,
  vocab: number,
  from: number,
  to: number,
  order?: ArrayLike<number>,
  buffers?: InputBuffers,
): { x: Float32Array; dept: Float32Array; level: Float32Array; n: number } {
  const n = to - from;
  const bx = buffers ? buffers.x.subarray(0, n * N_FEATURES) : new Float32Array(n * N_FEATURES);
  const bl = buffers ? buffers.level.subarray(0, n * LEVEL_COLS.length) : new Float32Array(n * LEVEL_COLS.length);
  const bd = buffers ? buffers.dept.subarray(0, n * vocab) : new Float32Array(n * vocab);
  if (buffers) bd.fill(0);
  for (let r = 0; r < n; r++) {
    const i = order ? (order[from + r] as number) : from + r;
    bx.set(x.subarray(i * N_FEATURES, (i + 1) * N_FEATURES), r * N_FEATURES);
    for (let k = 0; k < LEVEL_COLS.length; k++) bl[r * LEVEL_COLS.length + k] = x[i * N_FEATURES + (LEVEL_COLS[k] as number)] as number;
    bd[r * vocab + (dept[i] as number)] = 1;
  }
  return { x: bx, dept: bd, level: bl, n };
}

export function inputTensors(inp: ReturnType<typeof networkInputs>, vocab: number): tf.Tensor2D[] {
  const tf = tfjs();
  return [
    tf.tensor2d(inp.x, [inp.n, N_FEATURES]),
    tf.tensor2d(inp.dept, [inp.n, vocab]),
    tf.tensor2d(inp.level, [inp.n, LEVEL_COLS.length]),
  ];
}

export const QUANTILES = [0.1, 0.5, 0.9] as const;

/**
 * The candidate forecasts the network mixes (feature columns, all scaled): every one is a
 * seasonal forecast, so whatever weights the network picks, the holiday peaks of last year
 * carry over, including to holidays the training window never showed it with a year of
 * history.
 */
export const CANDIDATES = ['sn1', 'sn1_svd', 'snavg', 'snavg_svd', 'product'] as const satisfies readonly FeatureName[];
export type Candidate = (typeof CANDIDATES)[number];
export const CANDIDATE_COLS = CANDIDATES.map((c) => FEATURE_COL[c]);
export const N_CANDIDATES = CANDIDATES.length;
/** Position of each candidate in a row of candidate forecasts (n x N_CANDIDATES, CANDIDATES order). */
export const CANDIDATE_INDEX = Object.fromEntries(CANDIDATES.map((c, k) => [c, k])) as Readonly<Record<Candidate, number>>;

/** Named column offsets of a packed row, from one ordered list of (name, width): the offsets cannot drift apart. */
function packedLayout<K extends string>(parts: readonly (readonly [K, number])[]): { offset: Readonly<Record<K, number>>; width: number } {
  const offset = {} as Record<K, number>;
  let width = 0;
  for (const [name, w] of parts) {
    offset[name] = width;
    width += w;
  }
  return { offset, width };
}

/** Raw outputs per row: the level correction, the lower and upper widths, then one logit per candidate. */
const OUTPUT_LAYOUT = packedLayout([
  ['level', 1],
  ['lowerWidth', 1],
  ['upperWidth', 1],
  ['logits', N_CANDIDATES],
] as const);
/** First column of each part of a raw output row (the logits take N_CANDIDATES columns). */
export const OUTPUT = OUTPUT_LAYOUT.offset;
export const N_OUTPUTS = OUTPUT_LAYOUT.width;
// buildNetwork concatenates [level head, mix_width layer]: the level comes first and the
// mix_width layer produces every output after it.
if (OUTPUT.level !== 0) throw new Error('raw output layout: the level must be the first output (buildNetwork concatenates it first)');
const MIX_WIDTH_FIRST = OUTPUT.level + 1;
/** Half-widths are relative to |p50| + WIDTH_FLOOR (in units of the series' scale). */
export const WIDTH_FLOOR = 0.2;

const LOG_LEVEL_COL = FEATURE_COL.log_level;

/**
 * Candidate forecasts of raw (unstandardised) feature rows `from..to` (in `order` when
 * given), n x K: each candidate times the statistical growth level, so the network's own
 * level head learns a correction to it rather than the level from scratch.
 */
export function candidates(x: Float32Array, from: number, to: number, order?: ArrayLike<number>): Float32Array {
  const out = new Float32Array((to - from) * N_CANDIDATES);
  for (let r = from; r < to; r++) {
    const i = order ? (order[r] as number) : r;
    const lvl = Math.exp(x[i * N_FEATURES + LOG_LEVEL_COL] as number);
    for (let k = 0; k < N_CANDIDATES; k++) out[(r - from) * N_CANDIDATES + k] = (x[i * N_FEATURES + (CANDIDATE_COLS[k] as number)] as number) * lvl;
  }
  return out;
}

/** Tensor version of the decoding: p10, p50, p90 of the scaled target. */
export function decodeTensors(raw: tf.Tensor2D, cands: tf.Tensor2D, levelRange: number): { q10: tf.Tensor2D; q50: tf.Tensor2D; q90: tf.Tensor2D } {
  const tf = tfjs();
  const level = raw.slice([0, OUTPUT.level], [-1, 1]);
  const b = raw.slice([0, OUTPUT.lowerWidth], [-1, 1]);
  const c = raw.slice([0, OUTPUT.upperWidth], [-1, 1]);
  const logits = raw.slice([0, OUTPUT.logits], [-1, N_CANDIDATES]);
  const mix = tf.softmax(logits).mul(cands).sum(1, true);
  const q50 = mix.mul(tf.exp(tf.tanh(level).mul(levelRange))) as tf.Tensor2D;
  const width = q50.abs().add(WIDTH_FLOOR);
  return { q10: q50.sub(tf.softplus(b).mul(width)), q50, q90: q50.add(tf.softplus(c).mul(width)) };
}

/**
 * Weighted pinball loss over p10/p50/p90 (the median counted twice). `y` and `w` are [n, 1]:
 * scaled actual and sample weight.
 */
export function pinballLoss(y: tf.Tensor2D, w: tf.Tensor2D, cands: tf.Tensor2D, raw: tf.Tensor2D, levelRange: number): tf.Scalar {
  const tf = tfjs();
  return tf.tidy(() => {
    const { q10, q50, q90 } = decodeTensors(raw, cands, levelRange);
    const pin = (q: tf.Tensor, tau: number) => {
      const e = y.sub(q);
      return tf.maximum(e.mul(tau), e.mul(tau - 1));
    };
    const total = pin(q10, 0.1).add(pin(q50, 0.5).mul(2)).add(pin(q90, 0.9));
    return total.mul(w).sum().div(w.sum().add(1e-9)) as tf.Scalar;
  });
}

function softplus(v: number): number {
  return v > 20 ? v : Math.log1p(Math.exp(v));
}

/** Interval widening factors from conformal calibration on the validation split. */
export interface Calibration {
  lower: number;
  upper: number;
}

/** Raw outputs -> ordered scaled quantiles (JS twin of decodeTensors); `calibration` scales the half-widths. */
export function decodeQuantiles(
  raw: ArrayLike<number>,
  cands: ArrayLike<number>,
  calibration: Calibration = { lower: 1, upper: 1 },
  levelRange = DEFAULT_HYPERPARAMETERS.levelRange,
): { p10: Float64Array; p50: Float64Array; p90: Float64Array } {
  const n = Math.floor(cands.length / N_CANDIDATES);
  const p10 = new Float64Array(n);
  const p50 = new Float64Array(n);
  const p90 = new Float64Array(n);
  const e = new Float64Array(N_CANDIDATES);
  for (let i = 0; i < n; i++) {
    const r = i * N_OUTPUTS;
    const logits = r + OUTPUT.logits;
    let max = -Infinity;
    for (let k = 0; k < N_CANDIDATES; k++) max = Math.max(max, raw[logits + k] as number);
    let z = 0;
    for (let k = 0; k < N_CANDIDATES; k++) {
      e[k] = Math.exp((raw[logits + k] as number) - max);
      z += e[k] as number;
    }
    let mix = 0;
    for (let k = 0; k < N_CANDIDATES; k++) mix += ((e[k] as number) / z) * (cands[i * N_CANDIDATES + k] as number);
    const m = mix * Math.exp(levelRange * Math.tanh(raw[r + OUTPUT.level] as number));
    const width = Math.abs(m) + WIDTH_FLOOR;
    p50[i] = m;
    p10[i] = m - calibration.lower * softplus(raw[r + OUTPUT.lowerWidth] as number) * width;
    p90[i] = m + calibration.upper * softplus(raw[r + OUTPUT.upperWidth] as number) * width;
  }
  return { p10, p50, p90 };
}

/**
 * Feature standardisation fitted on the training rows. A feature that never varied in the
 * training window (markdowns before they existed, a holiday the window never held) gets a
 * zero column: the network has learned nothing about it, so it must not react to it.
 */
export interface Normalizer {
  mean: number[];
  std: number[];
}

export function fitNormalizer(x: Float32Array, n: number): Normalizer {
  const mean = new Array<number>(N_FEATURES).fill(0);
  const sq = new Array<number>(N_FEATURES).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < N_FEATURES; j++) {
      const v = x[i * N_FEATURES + j] as number;
      mean[j] = (mean[j] as number) + v;
      sq[j] = (sq[j] as number) + v * v;
    }
  }
  const std = new Array<number>(N_FEATURES).fill(0);
  for (let j = 0; j < N_FEATURES; j++) {
    const m = (mean[j] as number) / Math.max(n, 1);
    mean[j] = m;
    const v = (sq[j] as number) / Math.max(n, 1) - m * m;
    std[j] = v > 1e-10 && !HIDDEN_FEATURES.includes(j) ? Math.sqrt(v) : 0;
  }
  return { mean, std };
}

/** Standardises rows in place (clipped to +-6 standard deviations). */
export function applyNormalizer(x: Float32Array, n: number, norm: Normalizer): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < N_FEATURES; j++) {
      const k = i * N_FEATURES + j;
      const sd = norm.std[j] as number;
      if (sd === 0) {
        x[k] = 0;
        continue;
      }
      const z = ((x[k] as number) - (norm.mean[j] as number)) / sd;
      x[k] = z > 6 ? 6 : z < -6 ? -6 : z;
    }
  }
}

/** Predicts raw outputs for n rows in large batches (the default batch of 32 is ~300x slower on wasm). */
export async function predictRaw(model: tf.LayersModel, x: Float32Array, dept: ArrayLike<number>, n: number): Promise<Float32Array> {
  const tf = tfjs();
  if (n === 0) return new Float32Array(0);
  const vocab = (model.inputs[1]?.shape[1] as number | undefined) ?? 1;
  const out = new Float32Array(n * N_OUTPUTS);
  const chunk = 16_384;
  for (let from = 0; from < n; from += chunk) {
    const to = Math.min(n, from + chunk);
    const res = tf.tidy(() => model.predict(inputTensors(networkInputs(x, dept, vocab, from, to), vocab), { batchSize: chunk }) as tf.Tensor);
    out.set((await res.data()) as Float32Array, from * N_OUTPUTS);
    res.dispose();
  }
  return out;
}
