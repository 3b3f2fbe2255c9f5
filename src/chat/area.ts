import type { Database } from '../db/client.ts';
import type { Scope } from '../scope.ts';
import { UserError } from './errors.ts';
import { requireSeries } from './series-check.ts';

/** The reach of a command about a store, a region or the chain (`all`): what its options name. */
export function areaReach({ store, region }: { store?: number; region?: string }): Scope {
  return store !== undefined ? { kind: 'store', store } : region !== undefined ? { kind: 'region', region } : { kind: 'chain' };
}

/**
 * The store, region or chain a command's options name, checked against the data: a store with
 * sales, a region that exists (in its stored spelling). `example` is shown with a refusal.
 */
export async function areaScope(db: Database, { store, region }: { store?: number; region?: string }, example: string): Promise<Scope> {
  if (store !== undefined && region !== undefined) throw new UserError('Give a store or a region, not both.', { example });
  if (store !== undefined) {
    await requireSeries(db, store);
    return { kind: 'store', store };
  }
  if (region === undefined) return { kind: 'chain' };
  const regions = await db.query<{ region: string }>('SELECT DISTINCT region FROM stores WHERE region IS NOT NULL ORDER BY region');
  const hit = regions.find((r) => r.region.toLowerCase() === region.toLowerCase());
  if (!hit) {
    throw new UserError(regions.length ? `There is no region "${region}". Regions: ${regions.map((r) => r.region).join(', ')}.` : 'No store has a region yet.', {
      example: regions.length ? example.replace(/store \d+/, `region ${regions[0]!.region}`) : example,
    });
  }
  return { kind: 'region', region: hit.region };
}

/** "$0.06" per dollar: cents matter here, where money() would round to "$0". */
export function perDollar(v: number): string {
  return `${v < 0 ? '-' : ''}$${Math.abs(v).toFixed(2)}`;
}
