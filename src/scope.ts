/**
 * The one scope type: what a question, a subscription, a forecast series or (later) an access
 * grant is about. Store-level and wider scopes read the store-week rollup.
 */
export type Scope =
  | { kind: 'chain' }
  | { kind: 'store'; store: number }
  | { kind: 'store-dept'; store: number; dept: number }
  | { kind: 'dept'; dept: number }
  | { kind: 'region'; region: string }
  /** The stores of one segment (src/analytics/segments.ts, the store_segments table). */
  | { kind: 'segment'; segment: number }
  /**
   * Some stores (and one department of them): a cross-store question narrowed to the stores
   * the asker may see. `asked` is the question before narrowing, for saying so.
   */
  | { kind: 'stores'; stores: readonly number[]; dept?: number; asked: Scope };

/** The scopes a weekly summary (and a channel, a grant) can cover: a store, a region or the chain. */
export type AreaScope = Extract<Scope, { kind: 'chain' | 'region' | 'store' }>;

/** A forecastable weekly series: one store (all departments) or one store x department. */
export interface SeriesKey {
  store: number;
  dept?: number;
}

export function seriesScope(key: SeriesKey): Extract<Scope, { kind: 'store' | 'store-dept' }> {
  return key.dept === undefined ? { kind: 'store', store: key.store } : { kind: 'store-dept', store: key.store, dept: key.dept };
}

export function describeScope(scope: Scope): string {
  switch (scope.kind) {
    case 'chain':
      return 'All stores';
    case 'store':
      return `Store ${scope.store}`;
    case 'store-dept':
      return `Store ${scope.store} · Dept ${scope.dept}`;
    case 'dept':
      return `Dept ${scope.dept} (all stores)`;
    case 'region':
      return `${scope.region} region`;
    case 'segment':
      return `Segment ${scope.segment}`;
    case 'stores': {
      const n = scope.stores.length;
      const where = scope.asked.kind === 'region' ? ` in ${scope.asked.region}` : scope.asked.kind === 'segment' ? ` in segment ${scope.asked.segment}` : '';
      return `your ${n === 1 ? `store (${scope.stores[0]})` : `${n} stores`}${where}${scope.dept === undefined ? '' : ` · Dept ${scope.dept}`}`;
    }
  }
}
