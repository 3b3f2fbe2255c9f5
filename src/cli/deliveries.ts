import { Command, Option } from 'commander';
import { listDeliveries, retryDelivery, type Delivery } from '../delivery/summaries/deliveries.ts';
import { EXIT_USAGE, withCli } from './context.ts';

export function formatDeliveries(rows: Delivery[]): string {
  if (!rows.length) return 'No deliveries.\n';
  const table = [
    ['id', 'subscription', 'week', 'status', 'attempts', 'last', 'next/delivered', 'target', 'last error'],
    ...rows.map((d) => [
      d.id,
      d.subscriptionId,
      d.week,
      d.status,
      String(d.attempts),
      d.lastStatus === null ? '-' : String(d.lastStatus),
      (d.status === 'succeeded' ? d.deliveredAt : d.status === 'dead' || d.status === 'paused' ? null : d.nextAttemptAt)?.slice(0, 19) ?? '-',
      // A per-recipient copy: whose.
      d.recipient ? `DM to ${d.recipient}` : (d.target ?? ''),
      (d.lastError ?? '').slice(0, 80),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return table.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/**
 * `storecast deliveries [--status dead] [--subscription sub_..] [--json]` and
 * `storecast deliveries retry <id>`. Wire with program.addCommand(deliveriesCommand()).
 */
export function deliveriesCommand(): Command {
  const deliveries = new Command('deliveries').description('The webhook delivery log: attempts, status, last error; retry dead deliveries.');
  deliveries
    .command('list', { isDefault: true })
    .description('List deliveries, newest first.')
    .addOption(new Option('--status <status>', 'only this status').choices(['pending', 'in_progress', 'retry', 'succeeded', 'dead', 'paused']))
    .option('--subscription <id>', 'only this subscription')
    .option('--limit <n>', 'at most n rows', '50')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; subscription?: string; limit: string; json?: boolean }) => {
      await withCli(async ({ db }) => {
        const rows = await listDeliveries(db, { status: opts.status, subscriptionId: opts.subscription, limit: Math.max(1, Number(opts.limit) || 50) });
        process.stdout.write(opts.json ? `${JSON.stringify(rows)}\n` : formatDeliveries(rows));
      });
    });
  deliveries
    .command('retry')
    .description('Queue a dead delivery again, with a fresh set of attempts.')
    .argument('<id>')
    .action(async (id: string) => {
      await withCli(async ({ db }) => {
        if (await retryDelivery(db, id)) process.stdout.write(`Queued ${id} again; a running server delivers it within seconds.\n`);
        else {
          process.stderr.write(`No dead or retrying delivery ${id}. See \`storecast deliveries --status dead\`.\n`);
          process.exitCode = EXIT_USAGE;
        }
      });
    });
  return deliveries;
}
