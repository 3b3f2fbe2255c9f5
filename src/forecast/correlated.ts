import type { Panel, PanelSeries } from './panel.ts';

/**
 * Correlated-store averaging: the Kaggle winner's `stlf.nn` (davidthaler/Walmart_competition_code,
 * grouped.forecast.R). Within a department each store's history is standard-scaled; a store's
 * forecast is the mean of the scaled forecasts of the stores whose histories correlate best
 * with its own (itself included), put back on its own centre and scale:
 *
 *   f'(s) = c(s) + sd(s) x mean over n in N(s) of (f(n) - c(n)) / sd(n)
 *
 * N(s): up to NEIGHBOURS stores (itself counted) of those correlating >= LEVEL_MIN, the best
 * first (the winner's k = 5 and level2 = 0.8). The winner also took every store correlating
 * >= level1 = 0.95 when more than k did (`levelAll`); that scored the same on the inner
 * windows (docs/forecasting.md, sixth round) and would average a store over up to CANDIDATES
 * stores at chain scale, so it is off (LEVEL_ALL = Infinity). Correlations are of the raw
 * histories (unknown = 0) over the last CORRELATION_WEEKS weeks up to the origin: only data
 * on or before it is read.
 *
 * Bounded at chain scale: a store is compared with at most CANDIDATES stores of its
 * department (all of them up to that, else a fixed spread-out choice by store number), so a
 * series costs CANDIDATES x CORRELATION_WEEKS multiplications however many stores the chain
 * has, and at most NEIGHBOURS - 1 neighbour forecasts; the candidates' scaled histories are
 * built once per department and origin (cached per panel).
 */

export const NEIGHBOURS = 5;
export const LEVEL_ALL = Infinity;
export const LEVEL_MIN = 0.8;
export const CANDIDATES = 100;
export const CORRELATION_WEEKS = 104;

export interface NeighbourOptions {
  k: number;
  levelAll: number;
  levelMin: number;
}

export const DEFAULT_NEIGHBOURS: NeighbourOptions = { k: NEIGHBOURS, levelAll: LEVEL_ALL, levelMin: LEVEL_MIN };

/** A series' raw history over the correlation window, standard-scaled (z has mean 0 and mean square 1, or is all 0). */
export interface Scaled {
  centre: number;
  scale: number;
  z: Float64Array;
}

interface OriginCache {
  scaled: Map<number, Scaled>;
  candidates: Map<number, number[]>;
  sets: Map<string, number[]>;
}
const cache = new WeakMap<Panel, Map<number, OriginCache>>();

function originCache(panel: Panel, origin: number): OriginCache {
  let byOrigin = cache.get(panel);
  if (!byOrigin) {
    byOrigin = new Map();
    cache.set(panel, byOrigin);
  }
  let c = byOrigin.get(origin);
  if (!c) {
    c = { scaled: new Map(), candidates: new Map(), sets: new Map() };
    byOrigin.set(origin, c);
    // The backtest visits four origins per panel (three inner ones and the origin); serving one.
    if (byOrigin.size > 4) byOrigin.delete(byOrigin.keys().next().value as number);
  }
  return c;
}

/** The raw history of series `si` over the window ending at `origin`, standard-scaled. */
export function scaledHistory(panel: Panel, origin: number, si: number): Scaled {
  const c = originCache(panel, origin);
  let out = c.scaled.get(si);
  if (out) return out;
  const s = panel.series[si] as PanelSeries;
  const from = Math.max(0, origin - CORRELATION_WEEKS + 1);
  const z = new Float64Array(origin - from + 1);
  for (let t = from; t <= origin; t++) {
    const v = t < s.y.length ? (s.y[t] as number) : NaN;
    z[t - from] = Number.isNaN(v) ? 0 : v;
  }
  let mean = 0;
  for (const v of z) mean += v;
  mean /= z.length;
  let ss = 0;
  for (const v of z) ss += (v - mean) ** 2;
  const sd = Math.sqrt(ss / z.length);
  const varies = sd > 1e-9 * Math.max(1, Math.abs(mean));
  if (varies) for (let i = 0; i < z.length; i++) z[i] = ((z[i] as number) - mean) / sd;
  else z.fill(0);
  out = { centre: mean, scale: varies ? sd : 0, z };
  // Only candidates are read again and again; keeping every series' would hold 330k x 104
  // doubles (~275 MB) at 4,600 stores, against ~7 MB for the candidates.
  if (candidatesOf(panel, origin, s.dept).includes(si)) c.scaled.set(si, out);
  return out;
}

/** A fixed, spread-out order of stores (a multiplicative hash), so a bounded choice is not "the lowest store numbers". */
const spread = (store: number) => Math.imul(store, 2654435761) >>> 0;

/** The department's stores (series ids with history at the origin) that a store of it is compared with. */
export function candidatesOf(panel: Panel, origin: number, dept: number): number[] {
  const c = originCache(panel, origin);
  let out = c.candidates.get(dept);
  if (out) return out;
  out = [];
  for (const [si, s] of panel.series.entries()) if (s.dept === dept && s.first <= origin) out.push(si);
  if (out.length > CANDIDATES) {
    out.sort((a, b) => spread((panel.series[a] as PanelSeries).store) - spread((panel.series[b] as PanelSeries).store));
    out = out.slice(0, CANDIDATES).sort((a, b) => a - b);
  }
  c.candidates.set(dept, out);
  return out;
}

/** N(si): the series whose forecasts si's is averaged over (si first; [si] alone for a constant history). */
export function neighbourSet(panel: Panel, origin: number, si: number, options: NeighbourOptions = DEFAULT_NEIGHBOURS): number[] {
  const c = originCache(panel, origin);
  const key = `${si}|${options.k}|${options.levelAll}|${options.levelMin}`;
  let out = c.sets.get(key);
  if (out) return out;
  const own = scaledHistory(panel, origin, si);
  out = [si];
  if (own.scale > 0) {
    const scored: { si: number; r: number }[] = [];
    for (const other of candidatesOf(panel, origin, (panel.series[si] as PanelSeries).dept)) {
      if (other === si) continue;
      const z = scaledHistory(panel, origin, other);
      if (z.scale === 0) continue;
      let dot = 0;
      for (let i = 0; i < own.z.length; i++) dot += (own.z[i] as number) * (z.z[i] as number);
      scored.push({ si: other, r: dot / own.z.length });
    }
    scored.sort((a, b) => b.r - a.r || a.si - b.si);
    // Counting the series itself (correlation 1), as the winner's rule does.
    const high = scored.filter((x) => x.r >= options.levelAll);
    const chosen = high.length + 1 > options.k ? high : scored.filter((x) => x.r >= options.levelMin).slice(0, options.k - 1);
    out.push(...chosen.map((x) => x.si));
  }
  c.sets.set(key, out);
  return out;
}

/** The correlated-store average of si's forecast, given every neighbour's forecast (`of`). */
export function correlatedAverage(panel: Panel, origin: number, si: number, set: readonly number[], of: (n: number) => Float64Array, out: Float64Array): void {
  const own = scaledHistory(panel, origin, si);
  if (own.scale === 0 || set.length <= 1) {
    out.set(of(si));
    return;
  }
  out.fill(0);
  for (const n of set) {
    const sc = scaledHistory(panel, origin, n);
    const f = of(n);
    for (let h = 0; h < out.length; h++) out[h] = (out[h] as number) + ((f[h] as number) - sc.centre) / sc.scale;
  }
  for (let h = 0; h < out.length; h++) out[h] = own.centre + (own.scale * (out[h] as number)) / set.length;
}
