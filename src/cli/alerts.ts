import { Command, Option } from 'commander';
import { UserError } from '../chat/errors.ts';
import { createOutbound } from '../net/outbound.ts';
import { createRule, deleteRule, describeRule, listRules, type AlertCondition } from '../alerts/rules.ts';
import type { StockScope } from '../stock/positions.ts';
import { SecretKeyError } from '../webhooks/crypto.ts';
import { openSecretKey } from '../webhooks/secret-key.ts';
import { EXIT_USAGE, withCli } from './context.ts';

interface CreateOptions {
  store?: string;
  region?: string;
  chain?: boolean;
  dept?: string;
  kind: 'stock' | 'sales';
  belowWeeks?: string;
  basis?: 'median' | 'p90';
  belowForecast?: boolean;
  pct?: string;
  dropPct?: string;
  url?: string;
  email?: string;
  json?: boolean;
}

function scopeOf(o: CreateOptions): StockScope {
  const given = [o.store !== undefined, o.region !== undefined, o.chain === true].filter(Boolean).length;
  if (given !== 1) throw new UserError('Give exactly one of --store N, --region NAME, --chain.');
  const dept = o.dept === undefined ? {} : { dept: Number(o.dept) };
  if (o.store !== undefined) return { kind: 'store', store: Number(o.store), ...dept };
  return o.region !== undefined ? { kind: 'region', region: o.region, ...dept } : { kind: 'chain', ...dept };
}

function conditionOf(o: CreateOptions): AlertCondition {
  const n = (v: string | undefined, what: string) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new UserError(`${what} must be a positive number.`);
    return x;
  };
  if (o.kind === 'stock') return { type: 'cover-below', weeks: n(o.belowWeeks, '--below-weeks'), basis: o.basis ?? 'p90' };
  if (o.dropPct !== undefined) return { type: 'drop-vs-last-year', pct: n(o.dropPct, '--drop-pct') };
  if (o.belowForecast) return o.pct === undefined ? { type: 'below-forecast' } : { type: 'below-forecast', pct: n(o.pct, '--pct') };
  throw new UserError('A sales alert needs --below-forecast [--pct P] or --drop-pct P.');
}

/** `storecast alerts list|create|delete`: the same rules as /alert and /api/v1/alerts. */
export function alertsCommand(): Command {
  const alerts = new Command('alerts').description('Alert rules on stock cover and sales: list, create (webhook URL or email), delete.');
  alerts
    .command('list', { isDefault: true })
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withCli(async ({ db }) => {
        const all = await listRules(db);
        process.stdout.write(opts.json ? `${JSON.stringify(all)}\n` : all.length ? all.map(describeRule).join('\n') + '\n' : 'No alerts.\n');
      });
    });
  alerts
    .command('create')
    .description('Create a rule, e.g. --kind stock --store 5 --below-weeks 2 --email ops@example.com')
    .addOption(new Option('--kind <kind>', 'stock or sales').choices(['stock', 'sales']).makeOptionMandatory())
    .option('--store <n>')
    .option('--region <name>')
    .option('--chain')
    .option('--dept <n>')
    .option('--below-weeks <weeks>', 'stock: fewer weeks of cover than this')
    .addOption(new Option('--basis <basis>', 'stock: cover at median or p90 demand').choices(['median', 'p90']))
    .option('--below-forecast', 'sales: last week under the 80% interval')
    .option('--pct <p>', 'sales: with --below-forecast, this many percent under the median')
    .option('--drop-pct <p>', 'sales: down this many percent vs the same week last year')
    .option('--url <url>', 'a webhook URL (better: WEBHOOK_URL)')
    .option('--email <address>')
    .option('--json')
    .action(async (opts: CreateOptions) => {
      await withCli(async ({ db, config, logger }) => {
        try {
          const url = opts.url ?? (opts.email ? undefined : config.webhookUrl);
          if ((url === undefined) === (opts.email === undefined)) throw new UserError('Give one target: --email ADDRESS, or --url (or WEBHOOK_URL).');
          const target = url !== undefined ? ({ kind: 'webhook', url } as const) : ({ kind: 'email', address: opts.email! } as const);
          const key = url !== undefined ? await openSecretKey(config, db, logger) : undefined;
          const rule = await createRule(db, key, { kind: opts.kind, scope: scopeOf(opts), condition: conditionOf(opts), target, createdBy: 'cli' }, createOutbound({ allow: config.outboundAllow }));
          process.stdout.write(opts.json ? `${JSON.stringify(rule)}\n` : `${describeRule(rule)}\n`);
        } catch (err) {
          if (!(err instanceof UserError || err instanceof SecretKeyError)) throw err;
          process.stderr.write(`error: ${err.message}\n`);
          process.exitCode = EXIT_USAGE;
        }
      });
    });
  alerts
    .command('delete')
    .argument('<id>')
    .action(async (id: string) => {
      await withCli(async ({ db }) => {
        if (await deleteRule(db, id)) process.stdout.write(`Deleted ${id}.\n`);
        else {
          process.stderr.write(`No alert ${id}. See \`storecast alerts\`.\n`);
          process.exitCode = EXIT_USAGE;
        }
      });
    });
  return alerts;
}
