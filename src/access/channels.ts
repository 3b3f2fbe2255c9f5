import type { Database } from '../db/client.ts';
import type { AreaScope } from '../scope.ts';
import { scopeColumns, scopeFromColumns } from './grants.ts';

export interface ChannelRef {
  platform: 'slack' | 'discord';
  workspace?: string;
  channel: string;
}

export interface ChannelBinding extends ChannelRef {
  scope: AreaScope;
  createdBy: string | null;
}

/** The scope a channel is bound to (its audience may see that data), if an admin bound it. */
export async function channelScope(db: Pick<Database, 'query'>, ref: ChannelRef): Promise<AreaScope | undefined> {
  const [row] = await db.query<{ scope_kind: AreaScope['kind']; scope_value: string }>(
    'SELECT scope_kind, scope_value FROM channel_scopes WHERE platform = $1 AND workspace = $2 AND channel = $3',
    [ref.platform, ref.workspace ?? '', ref.channel],
  );
  return row ? scopeFromColumns(row.scope_kind, row.scope_value) : undefined;
}

/** Binds a channel to a scope (replacing an earlier binding). */
export async function bindChannel(db: Pick<Database, 'query'>, binding: ChannelRef & { scope: AreaScope; createdBy?: string }): Promise<void> {
  const [kind, value] = scopeColumns(binding.scope);
  await db.query(
    `INSERT INTO channel_scopes (platform, workspace, channel, scope_kind, scope_value, created_by) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (platform, workspace, channel) DO UPDATE SET scope_kind = excluded.scope_kind, scope_value = excluded.scope_value, created_by = excluded.created_by, created_at = now()`,
    [binding.platform, binding.workspace ?? '', binding.channel, kind, value, binding.createdBy ?? null],
  );
}

export async function unbindChannel(db: Pick<Database, 'query'>, ref: ChannelRef): Promise<boolean> {
  return (await db.query('DELETE FROM channel_scopes WHERE platform = $1 AND workspace = $2 AND channel = $3 RETURNING channel', [ref.platform, ref.workspace ?? '', ref.channel])).length > 0;
}

export async function listChannelBindings(db: Pick<Database, 'query'>): Promise<ChannelBinding[]> {
  const rows = await db.query<{ platform: 'slack' | 'discord'; workspace: string; channel: string; scope_kind: AreaScope['kind']; scope_value: string; created_by: string | null }>(
    'SELECT * FROM channel_scopes ORDER BY platform, workspace, channel',
  );
  return rows.map((r) => ({ platform: r.platform, workspace: r.workspace || undefined, channel: r.channel, scope: scopeFromColumns(r.scope_kind, r.scope_value), createdBy: r.created_by }));
}
