import type { Database } from '../db/client.ts';
import { UserError } from '../chat/errors.ts';
import { FIELD_RANGES } from '../data/limits.ts';
import { parseIsoDate } from '../data/weeks.ts';

/**
 * Campaigns: a name, its stores, the dates it ran, optional control stores and notes. One
 * module for every way in (/campaign create, POST /api/v1/campaigns, a campaigns CSV), so the
 * same rules hold everywhere.
 */
export interface Campaign {
  name: string;
  stores: number[];
  /** Control stores given with the campaign; none: matched automatically when judged. */
  controls: number[] | null;
  start: string;
  end: string;
  notes: string | null;
  createdBy: string | null;
  createdAt: string;
}

export const CAMPAIGN_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A campaign name as typed in chat (any case, stored lower-case): every command that names one uses it. */
export const CAMPAIGN_NAME_TYPED = new RegExp(CAMPAIGN_NAME.source, 'i');
/** Enough for any chain's campaign; keeps one row from naming thousands of stores. */
export const MAX_CAMPAIGN_STORES = 500;
export const MAX_NOTES = 1000;

/** "1,5,7", "1 5 7", "1;5;7" or ranges "1-5": sorted, unique store numbers. */
export function parseStoreList(text: string, what = 'stores'): number[] {
  const out = new Set<number>();
  for (const part of text.split(/[\s,;]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UserError(`${what}: "${part.slice(0, 20)}" is not a store number; write them like 1,5,7 or 1-5.`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < FIELD_RANGES.store.min || hi > FIELD_RANGES.store.max || hi < lo || hi - lo >= MAX_CAMPAIGN_STORES) {
      throw new UserError(`${what}: "${part.slice(0, 20)}" is not a store number or range of them.`);
    }
    for (let s = lo; s <= hi; s++) out.add(s);
  }
  if (out.size === 0) throw new UserError(`${what}: name at least one store, like 1,5,7.`);
  if (out.size > MAX_CAMPAIGN_STORES) throw new UserError(`${what}: at most ${MAX_CAMPAIGN_STORES} stores.`);
  return [...out].sort((a, b) => a - b);
}

export interface CampaignInput {
  name: string;
  stores: readonly number[];
  controls?: readonly number[] | null;
  start: string;
  end: string;
  notes?: string | null;
}

/** The rules every way in shares; throws a UserError that says what to change. */
export function validateCampaign(input: CampaignInput): CampaignInput & { name: string } {
  const name = input.name.trim().toLowerCase();
  if (!CAMPAIGN_NAME.test(name)) throw new UserError(`Campaign name "${name.slice(0, 40)}": use lower-case letters, digits and hyphens, like spring-push.`);
  for (const [label, date] of [['start', input.start], ['end', input.end]] as const) {
    if (!parseIsoDate(date)) throw new UserError(`${label} must be a date like 2012-03-02, got "${String(date).slice(0, 20)}".`);
  }
  if (input.end < input.start) throw new UserError(`The campaign ends (${input.end}) before it starts (${input.start}).`);
  const controls = input.controls?.length ? [...input.controls] : null;
  const both = controls?.filter((s) => input.stores.includes(s)) ?? [];
  if (both.length) throw new UserError(`Store ${both.join(', ')} cannot be both in the campaign and a control.`);
  const notes = input.notes?.trim() ? input.notes.trim().slice(0, MAX_NOTES) : null;
  return { name, stores: [...input.stores].sort((a, b) => a - b), controls, start: input.start, end: input.end, notes };
}

interface Row {
  name: string;
  stores: number[];
  control_stores: number[] | null;
  start_date: string;
  end_date: string;
  notes: string | null;
  created_by: string | null;
  created_at: Date | string;
}

const COLUMNS = `name, stores, control_stores, start_date::text AS start_date, end_date::text AS end_date, notes, created_by, created_at`;

const toCampaign = (r: Row): Campaign => ({
  name: r.name,
  stores: r.stores,
  controls: r.control_stores,
  start: r.start_date,
  end: r.end_date,
  notes: r.notes,
  createdBy: r.created_by,
  createdAt: new Date(r.created_at).toISOString(),
});

/** Stores of `stores` with no sales data: a campaign must be about stores we know. */
export async function unknownStores(db: Database, stores: readonly number[]): Promise<number[]> {
  const rows = await db.query<{ store_id: number }>('SELECT store_id FROM stores WHERE store_id = ANY($1::int[])', [stores]);
  const known = new Set(rows.map((r) => r.store_id));
  return stores.filter((s) => !known.has(s));
}

/** Creates a campaign; a name already taken is a UserError (campaigns are not silently replaced). */
export async function createCampaign(db: Database, input: CampaignInput, createdBy: string | null): Promise<Campaign> {
  const c = validateCampaign(input);
  const unknown = await unknownStores(db, [...c.stores, ...(c.controls ?? [])]);
  if (unknown.length) throw new UserError(`Unknown store${unknown.length > 1 ? 's' : ''}: ${unknown.slice(0, 10).join(', ')}.`, { code: 'UNKNOWN_STORE' });
  const rows = await db.query<Row>(
    `INSERT INTO campaigns (name, stores, control_stores, start_date, end_date, notes, created_by)
     VALUES ($1, $2::int[], $3::int[], $4::date, $5::date, $6, $7) ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
    [c.name, c.stores, c.controls, c.start, c.end, c.notes ?? null, createdBy],
  );
  if (!rows[0]) throw new UserError(`There is already a campaign called ${c.name}. Pick another name, or delete it first with /campaign delete ${c.name}.`, { code: 'CONFLICT' });
  return toCampaign(rows[0]);
}

export async function getCampaign(db: Database, name: string): Promise<Campaign | undefined> {
  const [row] = await db.query<Row>(`SELECT ${COLUMNS} FROM campaigns WHERE name = $1`, [name.trim().toLowerCase()]);
  return row ? toCampaign(row) : undefined;
}

/** Every campaign, newest start first. */
export async function listCampaigns(db: Database): Promise<Campaign[]> {
  return (await db.query<Row>(`SELECT ${COLUMNS} FROM campaigns ORDER BY start_date DESC, name`)).map(toCampaign);
}

export async function deleteCampaign(db: Database, name: string): Promise<boolean> {
  return (await db.query('DELETE FROM campaigns WHERE name = $1 RETURNING name', [name.trim().toLowerCase()])).length > 0;
}

/** Stores in other campaigns overlapping [start, end]: never used as automatic controls. */
export async function busyStores(db: Database, start: string, end: string, except?: string): Promise<Set<number>> {
  const rows = await db.query<{ stores: number[] }>(
    'SELECT stores FROM campaigns WHERE start_date <= $2::date AND end_date >= $1::date AND name IS DISTINCT FROM $3',
    [start, end, except ?? null],
  );
  return new Set(rows.flatMap((r) => r.stores));
}
