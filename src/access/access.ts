import type { Database } from '../db/client.ts';
import type { AccessMode, AccessSettings } from '../config.ts';
import { describeScope, type AreaScope, type Scope } from '../scope.ts';
import { UserError } from '../chat/errors.ts';
import { listGrants } from './grants.ts';
import { describePrincipal, principalKeys, roleRank, type Identity, type Role } from './principal.ts';

export type { AccessMode, AccessSettings };

export interface Entitlement {
  role: Role;
  scope: AreaScope;
}

/** What one asker may see and do, resolved once per request. */
export interface Access {
  readonly mode: AccessMode;
  readonly keys: readonly string[];
  readonly entitlements: readonly Entitlement[];
  /** Every store the asker may act on with at least `role`: 'all', or the store numbers. */
  stores(role?: Role): Promise<'all' | ReadonlySet<number>>;
  /** Whether the asker may act with `role` on every store `scope` reaches. */
  covers(role: Role, scope: Scope): Promise<boolean>;
  /**
   * A cross-store question narrowed to what the asker may see: `scope` itself when it is all
   * visible, else the visible stores of it (`kind: 'stores'`, possibly none).
   */
  narrow(scope: Scope, role?: Role): Promise<Scope>;
  /** "manager of West region, viewer of Store 5", for refusals and /access list. */
  describe(): string;
}

type StoreRegions = ReadonlyMap<number, string>;

/**
 * Store -> region, read at most every REGIONS_TTL_MS per database: every restricted command
 * with a region grant needs it, and regions change only when stores.csv is imported again.
 * (Grants are never cached: a revocation takes effect on the next command.)
 */
const REGIONS_TTL_MS = 30_000;
const regionCache = new WeakMap<object, { at: number; regions: Promise<StoreRegions> }>();

function loadStoreRegions(db: Pick<Database, 'query'>): Promise<StoreRegions> {
  const hit = regionCache.get(db);
  if (hit && Date.now() - hit.at < REGIONS_TTL_MS) return hit.regions;
  const regions = db
    .query<{ store_id: number; region: string | null }>('SELECT store_id, region FROM stores')
    .then((rows): StoreRegions => new Map(rows.map((r) => [r.store_id, (r.region ?? '').toLowerCase()])));
  regionCache.set(db, { at: Date.now(), regions });
  regions.catch(() => regionCache.delete(db));
  return regions;
}

const sameRegion = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Whether one entitlement's area holds every store of `scope`. */
function holds(area: AreaScope, scope: Scope, regions: StoreRegions): boolean {
  if (area.kind === 'chain') return true;
  switch (scope.kind) {
    case 'chain':
    case 'dept':
    // Judged on its stores: callers expand a segment first (withSegmentStores).
    case 'segment':
      return false;
    case 'region':
    case 'region-dept':
      return area.kind === 'region' && sameRegion(area.region, scope.region);
    case 'store':
    case 'store-dept':
      return area.kind === 'store' ? area.store === scope.store : sameRegion(regions.get(scope.store) ?? '', area.region);
    case 'stores':
      return scope.stores.every((store) => holds(area, { kind: 'store', store }, regions));
  }
}

/**
 * The stores of a segment now, or a UserError naming the segments `visible` may use. Segments
 * are computed by analytics (src/analytics/segments.ts `segmentStores`, which clusters first
 * when an import left them stale); access sits below analytics, so the wiring hands that
 * function in (createServices). Unwired (a bare script), the stored segments are read as they are.
 */
export type SegmentStores = (db: Database, segment: number, visible: 'all' | ReadonlySet<number>) => Promise<number[]>;

let segmentStoresOf: SegmentStores = async (db, segment) => {
  const rows = await db.query<{ store_id: number }>('SELECT store_id FROM store_segments WHERE segment = $1 ORDER BY store_id', [segment]);
  if (!rows.length) throw new UserError(`There is no segment ${segment} (see /segments).`);
  return rows.map((r) => r.store_id);
};

export function useSegmentStores(fn: SegmentStores): void {
  segmentStoresOf = fn;
}

/**
 * A segment as the stores it holds now (`kind: 'stores'`, asked: the segment), so every check
 * below judges it store by store; other scopes as they are. Segments change only on import,
 * and a store's visibility never depends on its segment, so this is read fresh each time.
 * Never judged empty: a segment that does not exist is a usage error (segmentStores, naming
 * the segments of `visible`), and segments not computed yet are computed first; an empty list
 * would be held by any grant at all.
 */
async function withSegmentStores(db: Database, scope: Scope, visible?: () => Promise<'all' | ReadonlySet<number>>): Promise<Scope> {
  if (scope.kind !== 'segment') return scope;
  const stores = await segmentStoresOf(db, scope.segment, visible ? await visible() : 'all');
  return { kind: 'stores', stores, asked: scope };
}

/** Whether every store of `scope` lies within `area` (a channel's audience, a grant). */
export async function scopeWithin(db: Database, area: AreaScope, scope: Scope): Promise<boolean> {
  if (area.kind === 'chain') return true;
  return holds(area, await withSegmentStores(db, scope), area.kind === 'region' ? await loadStoreRegions(db) : new Map());
}

/** The entitlements of an identity: the CLI operator and configured admins run the chain. */
export async function resolveAccess(db: Database, settings: AccessSettings, who: Identity): Promise<Access> {
  const keys = principalKeys(who);
  const entitlements: Entitlement[] = [];
  if (who.platform === 'cli' || keys.some((k) => settings.admins.includes(k))) entitlements.push({ role: 'admin', scope: { kind: 'chain' } });
  // Open (the local demo): everyone sees everything; whoever the platform vouched for may manage.
  if (settings.mode === 'open') entitlements.push({ role: who.user !== undefined || who.tokenId !== undefined ? 'manager' : 'viewer', scope: { kind: 'chain' } });
  if (keys.length) entitlements.push(...(await listGrants(db, keys)).map((g) => ({ role: g.role, scope: g.scope })));
  let regions: Promise<StoreRegions> | undefined;
  const storeRegions = () => (regions ??= loadStoreRegions(db));
  const atLeast = (role: Role) => entitlements.filter((e) => roleRank(e.role) >= roleRank(role));

  const access: Access = {
    mode: settings.mode,
    keys,
    entitlements,
    async stores(role = 'viewer') {
      const usable = atLeast(role);
      if (usable.some((e) => e.scope.kind === 'chain')) return 'all';
      const map = usable.some((e) => e.scope.kind === 'region') ? await storeRegions() : new Map<number, string>();
      const out = new Set<number>();
      for (const { scope } of usable) {
        if (scope.kind === 'store') out.add(scope.store);
        else if (scope.kind === 'region') for (const [store, region] of map) if (sameRegion(region, scope.region)) out.add(store);
      }
      return out;
    },
    async covers(role, asked) {
      const usable = atLeast(role);
      if (usable.some((e) => e.scope.kind === 'chain')) return true;
      // Before any refusal: an unknown segment is a usage error for everyone, access or not.
      const scope = await withSegmentStores(db, asked, () => access.stores(role));
      if (!usable.length) return false;
      const map = await storeRegions();
      return usable.some((e) => holds(e.scope, scope, map));
    },
    async narrow(asked, role = 'viewer') {
      if (await access.covers(role, asked)) return asked;
      const scope = await withSegmentStores(db, asked, () => access.stores(role));
      const visible = await access.stores(role);
      const map = await storeRegions();
      const inScope = (store: number) =>
        scope.kind === 'region' ? sameRegion(map.get(store) ?? '', scope.region) : scope.kind === 'stores' ? scope.stores.includes(store) : scope.kind === 'store' || scope.kind === 'store-dept' ? store === scope.store : true;
      const stores = [...(visible === 'all' ? map.keys() : visible)].filter(inScope).sort((a, b) => a - b);
      const dept = scope.kind === 'dept' || scope.kind === 'store-dept' ? scope.dept : scope.kind === 'stores' ? scope.dept : undefined;
      return { kind: 'stores', stores, ...(dept === undefined ? {} : { dept }), asked };
    },
    describe() {
      if (!entitlements.length) return 'no access yet';
      const best = new Map<string, Entitlement>();
      for (const e of entitlements) {
        const key = describeScope(e.scope);
        if (!best.has(key) || roleRank(best.get(key)!.role) < roleRank(e.role)) best.set(key, e);
      }
      return [...best.values()].map((e) => `${e.role} of ${describeScope(e.scope)}`).join(', ');
    },
  };
  return access;
}

export { describePrincipal };

/**
 * Whether a signed-in console principal (with the Discord roles it has now) still holds any
 * access: a console session of someone with none ends (src/auth/console-sessions.ts).
 */
export function consoleEntitled(db: Database, settings: AccessSettings) {
  return async (principal: string, roles: readonly string[]): Promise<boolean> => {
    const workspace = /^(?:slack|discord):([^/]+)\//.exec(principal)?.[1];
    const access = await resolveAccess(db, settings, { platform: 'web', user: principal, roles: [...roles], workspace });
    return access.entitlements.length > 0;
  };
}
