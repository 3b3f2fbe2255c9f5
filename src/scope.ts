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
  /** One department of a region's stores (an alert rule's reach). */
  | { kind: 'region-dept'; region: string; dept: number }
  /** The stores of one segment (src/analytics/segments.ts, the store_segments table). */
  | { kind: 'segment'; segment: number }
  /**
   * Some stores (and one department of them): a cross-store question narrowed to the stores
   * the asker may see. `asked` is the question before narrowing, for saying so.
   */
  | { kind: 'stores'; stores: readonly number[]; dept?: number; asked: Scope };

/** The scopes a weekly summary (and a channel, a grant) can cover: a store, a region or the chain. */
export type AreaScope = Extract<Scope, { kind: 'chain' | 'region' | 'store' }>;

/**
 * An area, or one department of its stores: what an alert rule watches and a stock question
 * reads. A part of the one type, as AreaScope is.
 */
export type DeptAreaScope = Extract<Scope, { kind: 'chain' | 'region' | 'store' | 'dept' | 'region-dept' | 'store-dept' }>;

/** The department a scope narrows to, if any. */
export function scopeDept(scope: Scope): number | undefined {
  return 'dept' in scope ? scope.dept : undefined;
}

/** The area a scope lies in, its department dropped: what grants, channels and rule rows key on. */
export function scopeArea(scope: DeptAreaScope): AreaScope {
  switch (scope.kind) {
    case 'chain':
    case 'dept':
      return { kind: 'chain' };
    case 'region':
    case 'region-dept':
      return { kind: 'region', region: scope.region };
    case 'store':
    case 'store-dept':
      return { kind: 'store', store: scope.store };
  }
}

/** An area narrowed to one department, or the area itself. */
export function withDept(area: AreaScope, dept?: number): DeptAreaScope {
  if (dept === undefined) return area;
  if (area.kind === 'store') return { kind: 'store-dept', store: area.store, dept };
  if (area.kind === 'region') return { kind: 'region-dept', region: area.region, dept };
  return { kind: 'dept', dept };
}

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
    case 'region-dept':
      return `${scope.region} region · Dept ${scope.dept}`;
    case 'segment':
      return `Segment ${scope.segment}`;
    case 'stores': {
      const n = scope.stores.length;
      const where = scope.asked.kind === 'region' ? ` in ${scope.asked.region}` : scope.asked.kind === 'segment' ? ` in segment ${scope.asked.segment}` : '';
      return `your ${n === 1 ? `store (${scope.stores[0]})` : `${n} stores`}${where}${scope.dept === undefined ? '' : ` · Dept ${scope.dept}`}`;
    }
  }
}

/**
 * A scope in a file name (CSV and chart downloads): `chain`, `store5`, `store5-dept7`, `dept7`,
 * `north` (a region, lower case), `north-dept7`, `segment2`, `stores`. The chain is `chain`
 * everywhere, as its command option is written.
 */
export function scopeSlug(scope: Scope): string {
  const region = (r: string) => r.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'region';
  switch (scope.kind) {
    case 'chain':
      return 'chain';
    case 'store':
      return `store${scope.store}`;
    case 'store-dept':
      return `store${scope.store}-dept${scope.dept}`;
    case 'dept':
      return `dept${scope.dept}`;
    case 'region':
      return region(scope.region);
    case 'region-dept':
      return `${region(scope.region)}-dept${scope.dept}`;
    case 'segment':
      return `segment${scope.segment}`;
    case 'stores':
      return scope.dept === undefined ? 'stores' : `stores-dept${scope.dept}`;
  }
}
