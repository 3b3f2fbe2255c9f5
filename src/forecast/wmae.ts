/**
 * Weighted mean absolute error, the Walmart competition's metric: a holiday week weighs
 * `holidayWeight` (Hyperparameters.holidayWeight; 5 by default, as in the competition), any
 * other week 1. The one implementation behind early stopping (train.ts) and backtest scores
 * (backtest.ts): a model is selected on the same metric, with the same setting, that it is
 * trained with and reported on.
 */
export class Wmae {
  private num = 0;
  private den = 0;

  constructor(private readonly holidayWeight: number) {}

  add(absError: number, holiday: boolean): void {
    const w = holiday ? this.holidayWeight : 1;
    this.num += w * absError;
    this.den += w;
  }

  /** NaN when nothing was added: no rows is not a perfect score. */
  value(): number {
    return this.den === 0 ? NaN : this.num / this.den;
  }
}
