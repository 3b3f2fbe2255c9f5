import { Command, Option } from 'commander';
import alertCommand from '../../commands/alert.ts';
import { alertScope, conditionOf } from '../alerts/chat.ts';
import type { alertOptions } from '../alerts/options.ts';
import type { OptionsOf } from '../chat/command.ts';
import { UserError } from '../chat/errors.ts';
import { parseTyped } from '../chat/parse.ts';
import { outboundPolicy } from '../net/outbound.ts';
import { createRule, deleteRule, describeRule, listRules, type AlertCondition } from '../alerts/rules.ts';
import type { DeptAreaScope } from '../scope.ts';
import { SecretKeyError } from '../delivery/crypto.ts';
import { openSecretKey } from '../delivery/secret-key.ts';
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

const CREATE_USAGE =
  'storecast alerts create --kind stock|sales (--store N | --region NAME | --chain) [--dept D] (--below-weeks W [--basis median|p90] | --below-forecast [--pct P] | --drop-pct P) (--email ADDRESS | --url URL)';
const CREATE_EXAMPLE = 'storecast alerts create --kind stock --store 5 --below-weeks 2 --email ops@example.com';

/**
 * The flags as /alert's options, checked by the parser and the rule building of chat (and
 * Discord): one validation, the same limits (store and dept from FIELD_RANGES, 0-26 weeks, 0-100%).
 */
function ruleOf(o: CreateOptions): { scope: DeptAreaScope; condition: AlertCondition } {
  // Flags not given are undefined, which the parser leaves out.
  const raw = {
    what: o.kind,
    store: o.store,
    dept: o.dept,
    region: o.region,
    scope: o.chain ? 'chain' : undefined,
    below: o.belowWeeks ?? (o.belowForecast ? 'forecast' : undefined),
    basis: o.basis,
    pct: o.pct,
    drop: o.dropPct,
  };
  const options = parseTyped(alertCommand, raw) as OptionsOf<typeof alertOptions>;
  return { scope: alertScope(options)!, condition: conditionOf(options) };
}

/** What was wrong, then this command's usage and an example (chat's are for chat). */
function refuse(err: UserError | SecretKeyError): void {
  const usage = err instanceof UserError ? `\nUsage: ${CREATE_USAGE}\nExample: ${CREATE_EXAMPLE}` : '';
  process.stderr.write(`error: ${err.message}${usage}\n`);
  process.exitCode = EXIT_USAGE;
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
          // The operator's rules are judged by the same delivery decision as anyone's (at every send too).
          const delivery = { mode: config.access.mode, creator: { kind: 'operator' } as const };
          const rule = await createRule(db, key, { kind: opts.kind, ...ruleOf(opts), target, createdBy: 'cli', delivery }, outboundPolicy(config));
          if (rule.duplicate && !opts.json) process.stdout.write(`The same rule exists already; nothing created:\n`);
          process.stdout.write(opts.json ? `${JSON.stringify(rule)}\n` : `${describeRule(rule)}\n`);
        } catch (err) {
          if (!(err instanceof UserError || err instanceof SecretKeyError)) throw err;
          refuse(err);
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
