import type { Scope } from '../scope.ts';

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
      // Chain-wide department totals are maintained (src/data/rollup.ts): ~143 rows, any chain size.
      return { from: 'dept_week_sales s', where: `s.dept_id = ${p(0)}`, params: [scope.dept] };
    case 'region':
      return {
        from: 'store_week_sales s',
        where: `s.store_id IN (SELECT store_id FROM stores WHERE lower(region) = lower(${p(0)}))`,
        params: [scope.region],
      };
    case 'region-dept':
      return {
        from: 'weekly_sales s',
        where: `s.store_id IN (SELECT store_id FROM stores WHERE lower(region) = lower(${p(0)})) AND s.dept_id = ${p(1)}`,
        params: [scope.region, scope.dept],
      };
    case 'segment':
      return {
        from: 'store_week_sales s',
        where: `s.store_id IN (SELECT store_id FROM store_segments WHERE segment = ${p(0)})`,
        params: [scope.segment],
      };
    case 'stores':
      return scope.dept === undefined
        ? { from: 'store_week_sales s', where: `s.store_id = ANY(${p(0)}::int[])`, params: [scope.stores] }
        : { from: 'weekly_sales s', where: `s.store_id = ANY(${p(0)}::int[]) AND s.dept_id = ${p(1)}`, params: [scope.stores, scope.dept] };
  }
}
