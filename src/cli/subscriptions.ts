import { Command, Option } from 'commander';
import { UserError } from '../chat/errors.ts';
import { outboundPolicy } from '../net/outbound.ts';
import { SecretKeyError } from '../delivery/crypto.ts';
import { openSecretKey } from '../delivery/secret-key.ts';
import { createSubscription, deleteSubscription, describeSubscription, listSubscriptions, resolveSchedule } from '../delivery/summaries/subscriptions.ts';
import type { AreaScope } from '../scope.ts';
import { EXIT_USAGE, withCli } from './context.ts';

/**
 * `storecast subscriptions list|create|delete`. Wire with program.addCommand(subscriptionsCommand()).
 * The webhook URL is read from --url or, better (shell history), from the WEBHOOK_URL variable (config.webhookUrl).
 */
export function subscriptionsCommand(): Command {
  const subs = new Command('subscriptions').description('Weekly-summary subscriptions: list, create (webhook URL), delete.');
  subs
    .command('list', { isDefault: true })
    .description('List active subscriptions.')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withCli(async ({ db }) => {
        const all = await listSubscriptions(db);
        if (opts.json) return void process.stdout.write(`${JSON.stringify(all)}\n`);
        process.stdout.write(all.length ? all.map(describeSubscription).join('\n') + '\n' : 'No subscriptions.\n');
      });
    });
  subs
    .command('create')
    .description('Subscribe a webhook URL (Slack incoming webhook, Discord webhook, or any HTTPS endpoint for signed JSON), or --each manager.')
    .option('--store <n>', 'a store')
    .option('--region <name>', 'a region')
    .option('--chain', 'all stores')
    .option('--url <url>', 'the webhook URL (default: $WEBHOOK_URL)')
    .addOption(new Option('--each <role>', 'instead of a URL: a direct message to each manager (viewer) of a store in the scope, of their stores only').choices(['manager', 'viewer']))
    .addOption(new Option('--format <format>', 'payload format (default: from the URL)').choices(['slack', 'discord', 'json']))
    .option('--every <schedule>', 'e.g. "monday 08:00"', 'monday 08:00')
    .option('--tz <zone>', 'IANA time zone', 'UTC')
    .option('--json', 'print JSON')
    .action(async (opts: { store?: string; region?: string; chain?: boolean; url?: string; format?: 'slack' | 'discord' | 'json'; each?: 'manager' | 'viewer'; every: string; tz: string; json?: boolean }) => {
      await withCli(async ({ db, config, logger }) => {
        try {
          if (opts.each && opts.url) throw new UserError('Give --url or --each, not both.');
          const url = opts.url ?? config.webhookUrl;
          if (!url && !opts.each) throw new UserError('Give the webhook URL with --url or the WEBHOOK_URL environment variable, or --each manager for a direct message to each manager.');
          const given = [opts.store !== undefined, opts.region !== undefined, opts.chain === true].filter(Boolean).length;
          if (given !== 1) throw new UserError('Give exactly one of --store N, --region NAME, --chain.');
          const store = Number(opts.store);
          if (opts.store !== undefined && !(Number.isInteger(store) && store > 0)) throw new UserError('--store must be a store number.');
          const scope: AreaScope = opts.store !== undefined ? { kind: 'store', store } : opts.region !== undefined ? { kind: 'region', region: opts.region } : { kind: 'chain' };
          const target = opts.each ? ({ kind: 'recipients', role: opts.each } as const) : ({ kind: 'url', url: url!, format: opts.format } as const);
          const input = { scope, target, schedule: resolveSchedule({ every: opts.every, tz: opts.tz }), createdBy: 'cli', delivery: { mode: config.access.mode, creator: { kind: 'operator' } as const } };
          const key = opts.each ? undefined : await openSecretKey(config, db, logger);
          const { subscription, signingSecret } = await createSubscription(db, key, input, outboundPolicy(config));
          if (opts.json) process.stdout.write(`${JSON.stringify({ ...subscription, ...(signingSecret ? { signingSecret } : {}) })}\n`);
          else {
            process.stdout.write(`${describeSubscription(subscription)}\n`);
            if (signingSecret) process.stdout.write(`Signing secret (verify X-Storecast-Signature with it; shown once): ${signingSecret}\n`);
          }
        } catch (err) {
          if (!(err instanceof UserError || err instanceof SecretKeyError)) throw err;
          process.stderr.write(`error: ${err.message}\n`);
          process.exitCode = EXIT_USAGE;
        }
      });
    });
  subs
    .command('delete')
    .description('Delete a subscription (its delivery log is kept).')
    .argument('<id>')
    .action(async (id: string) => {
      await withCli(async ({ db }) => {
        if (await deleteSubscription(db, id)) process.stdout.write(`Deleted ${id}.\n`);
        else {
          process.stderr.write(`No subscription ${id}. See \`storecast subscriptions\`.\n`);
          process.exitCode = EXIT_USAGE;
        }
      });
    });
  return subs;
}

