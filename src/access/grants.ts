import { randomBytes } from 'node:crypto';
import type { Database } from '../db/client.ts';
import type { AreaScope } from '../scope.ts';
import type { Role } from './principal.ts';

export interface Grant {
  id: string;
  principal: string;
  role: Role;
  scope: AreaScope;
  createdBy: string | null;
  createdAt: string;
}

interface GrantRow {
  id: string;
  principal: string;
  role: Role;
  scope_kind: AreaScope['kind'];
  scope_value: string;
  created_by: string | null;
  created_at: Date | string;
}

/** An area scope as stored: kind + value ('' for the chain). */
export function scopeColumns(scope: AreaScope): [AreaScope['kind'], string] {
  return [scope.kind, scope.kind === 'store' ? String(scope.store) : scope.kind === 'region' ? scope.region : ''];
}

export function scopeFromColumns(kind: AreaScope['kind'], value: string): AreaScope {
  return kind === 'store' ? { kind, store: Number(value) } : kind === 'region' ? { kind, region: value } : { kind: 'chain' };
}

const toGrant = (r: GrantRow): Grant => ({
  id: r.id,
  principal: r.principal,
  role: r.role,
  scope: scopeFromColumns(r.scope_kind, r.scope_value),
  createdBy: r.created_by,
  createdAt: new Date(r.created_at).toISOString(),
});

/** Adds a grant; granting what exists already returns the existing one. */
export async function addGrant(db: Database, input: { principal: string; role: Role; scope: AreaScope; createdBy?: string }): Promise<Grant> {
  const [kind, value] = scopeColumns(input.scope);
  const id = `grant_${randomBytes(6).toString('hex')}`;
  await db.query(
    `INSERT INTO access_grants (id, principal, role, scope_kind, scope_value, created_by) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (principal, role, scope_kind, scope_value) DO NOTHING`,
    [id, input.principal, input.role, kind, value, input.createdBy ?? null],
  );
  const [row] = await db.query<GrantRow>('SELECT * FROM access_grants WHERE principal = $1 AND role = $2 AND scope_kind = $3 AND scope_value = $4', [input.principal, input.role, kind, value]);
  return toGrant(row!);
}

/** Removes grants of a principal: one role and scope, or all of them. Returns how many. */
export async function removeGrants(db: Database, principal: string, only?: { role?: Role; scope?: AreaScope }): Promise<number> {
  const params: unknown[] = [principal];
  let sql = 'DELETE FROM access_grants WHERE principal = $1';
  if (only?.role) sql += ` AND role = $${params.push(only.role)}`;
  if (only?.scope) {
    const [kind, value] = scopeColumns(only.scope);
    sql += ` AND scope_kind = $${params.push(kind)} AND scope_value = $${params.push(value)}`;
  }
  return (await db.query<{ id: string }>(`${sql} RETURNING id`, params)).length;
}

export async function listGrants(db: Database, principals?: readonly string[]): Promise<Grant[]> {
  const rows = principals
    ? await db.query<GrantRow>('SELECT * FROM access_grants WHERE principal = ANY($1::text[]) ORDER BY principal, created_at', [principals])
    : await db.query<GrantRow>('SELECT * FROM access_grants ORDER BY principal, created_at');
  return rows.map(toGrant);
}

/** Removes one grant by id (the admin API); returns it, or undefined when there was none. */
export async function removeGrant(db: Database, id: string): Promise<Grant | undefined> {
  const [row] = await db.query<GrantRow>('DELETE FROM access_grants WHERE id = $1 RETURNING *', [id]);
  return row ? toGrant(row) : undefined;
}
