import { Command, Option } from 'commander';
import { AUDIT_OUTCOMES, auditAction, DEFAULT_AUDIT_LIMIT, listAudit, MAX_AUDIT_LIMIT, parseSince, type AuditOutcome, type AuditRecord } from '../audit/log.ts';
import { EXIT_USAGE, withCli } from './context.ts';

export function formatAudit(rows: AuditRecord[]): string {
  if (!rows.length) return 'No audit entries.\n';
  const table = [
    ['at', 'principal', 'platform', 'where', 'action', 'scope', 'outcome', 'ms', 'ref', 'client'],
    ...rows.map((r) => [
      r.at.slice(0, 19).replace('T', ' '),
      r.principal,
      r.platform,
      [r.workspace, r.channel].filter(Boolean).join('/') || '-',
      auditAction(r),
      r.scope ?? '-',
      r.outcome,
      String(r.latencyMs),
      r.ref ?? '-',
      r.client ?? '-',
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return table.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/**
 * `storecast audit [--since 2026-11-01] [--principal KEY] [--outcome denied] [--limit N] [--json]`.
 * Wire with program.addCommand(auditCommand()).
 */
export function auditCommand(): Command {
  return new Command('audit')
    .description('The audit log: every command and API call (who, where, what, outcome, latency, reference), newest first.')
    .option('--since <date>', 'only entries from this date (UTC, 2026-11-01) or ISO time on')
    .option('--principal <key>', 'only this principal: slack:TEAM/USER, discord:GUILD/USER, token:ID, cli, anonymous')
    .addOption(new Option('--outcome <outcome>', 'only this outcome').choices([...AUDIT_OUTCOMES]))
    .option('--limit <n>', `at most n entries (1-${MAX_AUDIT_LIMIT})`, String(DEFAULT_AUDIT_LIMIT))
    .option('--json', 'print JSON')
    .action(async (opts: { since?: string; principal?: string; outcome?: AuditOutcome; limit: string; json?: boolean }) => {
      const since = opts.since === undefined ? undefined : parseSince(opts.since);
      const limit = Number(opts.limit);
      const problem =
        opts.since !== undefined && !since
          ? `--since "${opts.since.slice(0, 40)}" is not a date like 2026-11-01 or an ISO time.`
          : !Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT
            ? `--limit must be a whole number from 1 to ${MAX_AUDIT_LIMIT}.`
            : undefined;
      if (problem) {
        process.stderr.write(`error: ${problem}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      await withCli(async ({ db }) => {
        const rows = await listAudit(db, { since, principal: opts.principal?.trim(), outcome: opts.outcome, limit });
        process.stdout.write(opts.json ? `${JSON.stringify(rows)}\n` : formatAudit(rows));
      }, { audit: false }); // reading the log at the server's shell is not itself logged: each list would push the rows down
    });
}
