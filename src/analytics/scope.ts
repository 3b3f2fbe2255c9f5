/** What a question is about. Store-level and wider scopes read the store-week rollup. */
export type Scope =
  | { kind: 'chain' }
  | { kind: 'store'; store: number }
  | { kind: 'store-dept'; store: number; dept: number }
  | { kind: 'dept'; dept: number }
  | { kind: 'region'; region: string };

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
  }
}

/** SQL source and filter for a scope; `$n` placeholders start at `firstParam`. */
export function scopeSql(scope: Scope, firstParam = 1): { from: string; where: string; params: unknown[] } {
  const p = (i: number) => `$${firstParam + i}`;
  switch (scope.kind) {
    case 'chain':
      return { from: 'store_week_sales s', where: 'TRUE', params: [] };
    case 'store':
      return { from: 'store_week_sales s', where: `s.store_id = ${p(0)}`, params: [scope.store] };
    case 'store-dept':
      return { from: 'weekly_sales s', where: `s.store_id = ${p(0)} AND s.dept_id = ${p(1)}`, params: [scope.store, scope.dept] };
    case 'dept':
      return { from: 'weekly_sales s', where: `s.dept_id = ${p(0)}`, params: [scope.dept] };
    case 'region':
      return {
        from: 'store_week_sales s',
        where: `s.store_id IN (SELECT store_id FROM stores WHERE lower(region) = lower(${p(0)}))`,
        params: [scope.region],
      };
  }
}
