/** Simple exponential smoothing as stl-ets and the harmonic member use it (members.ts, harmonic.ts). */

const YEAR = 52;

/**
 * The smoothing constants stl-ets chooses from per series by one-step MAE (the winner's
 * opt.crit = 'mae'). Against the fixed 0.2 on inner windows and scored weeks at four origins:
 * equal or better at each (stl-ets 1503 -> 1497 at 2012-01-27, 1423 -> 1413 at 2012-04-27).
 */
export const STL_ALPHAS: readonly number[] = [0.05, 0.1, 0.2, 0.3, 0.5];

/**
 * Simple exponential smoothing of `x[first..origin]`: the final level with the alpha of
 * `alphas` whose one-step-ahead absolute errors over the last year are smallest (the
 * winner's ETS with opt.crit = 'mae'; one alpha: that one).
 */
export function sesLevel(x: Float64Array, first: number, origin: number, alphas: readonly number[]): number {
  let best = NaN;
  let bestErr = Infinity;
  for (const alpha of alphas) {
    let level = NaN;
    let err = 0;
    for (let i = first; i <= origin; i++) {
      const v = x[i] as number;
      if (Number.isNaN(level)) {
        level = v;
        continue;
      }
      if (i > origin - YEAR) err += Math.abs(v - level);
      level += alpha * (v - level);
    }
    if (err < bestErr) {
      bestErr = err;
      best = level;
    }
  }
  return best;
}

