import { defineCommand } from '../src/chat/command.ts';
import type { Reply } from '../src/chat/reply.ts';
import { AUDIT_OUTCOMES, auditAction, listAudit, parseSince, type AuditRecord } from '../src/audit/log.ts';

const when = (r: AuditRecord) => `${r.at.slice(0, 16).replace('T', ' ')} UTC`;

export default defineCommand({
  name: 'audit',
  description: 'The last entries of the audit log: who ran what, where, with what outcome (chain admins).',
  options: [
    { name: 'principal', type: 'principal', aliases: ['who', 'by'], description: 'Only this person or role: a mention, or a key such as token:ID' },
    { name: 'outcome', type: 'choice', choices: AUDIT_OUTCOMES, positional: true, description: 'Only this outcome: ok, denied, user-error, internal' },
    { name: 'since', type: 'date', description: 'Only entries from this day on (UTC), e.g. 2026-11-01' },
    { name: 'limit', type: 'integer', min: 1, max: 20, default: 10, aliases: ['last'], description: 'How many entries, 1-20 (default 10)' },
  ],
  examples: ['/audit', '/audit denied', '/audit principal slack:T01ABC/U02DEF since 2026-11-01 limit 20'],
  access: 'admin',
  // The log covers every store and every asker: only an admin of the whole chain reads it.
  reach: () => ({ kind: 'chain' }),
  async handler({ principal, outcome, since, limit }, ctx): Promise<Reply> {
    const entries = await listAudit(ctx.db, { principal, outcome, since: since === undefined ? undefined : parseSince(since), limit });
    const filters = [principal && `by ${principal}`, outcome && `outcome ${outcome}`, since && `since ${since}`].filter(Boolean).join(', ');
    return {
      title: 'Audit log',
      summary: entries.length
        ? `The last ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}${filters ? ` (${filters})` : ''}, newest first. More with \`storecast audit\` or GET /api/v1/audit.`
        : `No entries${filters ? ` (${filters})` : ''}.`,
      facts: entries.map((r) => ({
        label: `${when(r)} · ${r.principal}`,
        value: [auditAction(r), r.scope, `${r.outcome}, ${r.latencyMs} ms`, r.ref && `ref ${r.ref}`].filter(Boolean).join(' · '),
      })),
      table: {
        columns: ['at', 'principal', 'platform', 'workspace', 'channel', 'action', 'scope', 'outcome', 'latency_ms', 'ref', 'client', 'hits'],
        rows: entries.map((r) => [r.at, r.principal, r.platform, r.workspace ?? null, r.channel ?? null, auditAction(r), r.scope ?? null, r.outcome, r.latencyMs, r.ref ?? null, r.client ?? null, r.hits]),
        filename: 'audit.csv',
      },
      actions: [],
      visibility: 'ephemeral',
      context: {},
      data: { entries },
    };
  },
});
