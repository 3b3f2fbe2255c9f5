import { randomBytes } from 'node:crypto';
import type { Database } from '../src/db/client.ts';
import { ChartRefused } from './inline.ts';

/** How long a chart link works. */
export const CHART_TTL = {
  /** Console replies: a working session. */
  reply: 24 * 3600_000,
  /** Weekly summaries posted by link (Slack incoming webhooks): people scroll back. */
  delivery: 30 * 24 * 3600_000,
} as const;

export type ChartSpec = Record<string, unknown>;

/**
 * Chart images behind links, kept in the database so that any replica serves any link and
 * nothing lives in one process's memory. Ids are random (the link is the only credential an
 * image fetcher has); specs are rendered on first request and the PNG kept.
 */
export interface ChartStore {
  putSpec(spec: ChartSpec, ttlMs?: number): Promise<string>;
  /** Stores a rendered PNG; `id` reuses a link (a retried delivery keeps its URL). */
  putPng(png: Buffer, ttlMs?: number, id?: string): Promise<string>;
  png(id: string): Promise<Buffer | undefined>;
  /** Deletes expired charts; returns how many. Idempotent, so every replica may run it. */
  prune(now?: Date): Promise<number>;
}

export const newChartId = () => randomBytes(18).toString('base64url');
/** What a chart id looks like in a URL, so a route can refuse anything else before a query. */
export const CHART_ID_PATTERN = /^[A-Za-z0-9_-]{20,64}$/;

const expiry = (ttlMs: number) => new Date(Date.now() + ttlMs).toISOString();

export function createChartStore(db: Pick<Database, 'query'>, render: (spec: ChartSpec) => Promise<Buffer>): ChartStore {
  return {
    async putSpec(spec, ttlMs = CHART_TTL.reply) {
      const id = newChartId();
      await db.query('INSERT INTO charts (id, spec, expires_at) VALUES ($1, $2::jsonb, $3)', [id, JSON.stringify(spec), expiry(ttlMs)]);
      return id;
    },
    async putPng(png, ttlMs = CHART_TTL.delivery, id = newChartId()) {
      await db.query(
        `INSERT INTO charts (id, png, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET png = excluded.png, spec = NULL, expires_at = excluded.expires_at`,
        [id, png, expiry(ttlMs)],
      );
      return id;
    },
    async png(id) {
      if (!CHART_ID_PATTERN.test(id)) return undefined;
      const [row] = await db.query<{ png: Uint8Array | null; spec: ChartSpec | string | null }>('SELECT png, spec FROM charts WHERE id = $1 AND expires_at > now()', [id]);
      if (!row) return undefined;
      if (row.png) return Buffer.from(row.png);
      if (!row.spec) return undefined;
      let png: Buffer;
      try {
        png = await render(typeof row.spec === 'string' ? (JSON.parse(row.spec) as ChartSpec) : row.spec);
      } catch (err) {
        if (!(err instanceof ChartRefused)) throw err;
        // A spec that loads from outside itself (planted by a restore, say) is gone for good.
        await db.query('DELETE FROM charts WHERE id = $1', [id]);
        return undefined;
      }
      // Two replicas may render the same spec at once; both write the same image.
      await db.query('UPDATE charts SET png = $2, spec = NULL WHERE id = $1', [id, png]);
      return png;
    },
    async prune(now = new Date()) {
      const rows = await db.query<{ id: string }>('DELETE FROM charts WHERE expires_at <= $1 RETURNING id', [now.toISOString()]);
      return rows.length;
    },
  };
}
