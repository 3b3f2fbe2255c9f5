import type { ArgsOf, OptionDef } from '../chat/command.ts';
import { commandLine } from '../chat/parse.ts';
import { FIELD_RANGES } from '../data/limits.ts';

/**
 * The options of /alert, defined apart from its handler so that /stock can build "alert me"
 * follow-ups from them without the two command files importing each other.
 */
export const alertOptions = [
  { name: 'what', type: 'choice', choices: ['stock', 'sales', 'delete', 'snooze', 'ack'], required: true, description: 'stock or sales (a new rule), or delete, snooze, ack (an existing one)' },
  { name: 'id', type: 'string', pattern: /^alr_[0-9a-f]{6,}$/i, description: 'Alert id, e.g. alr_1a2b3c4d5e6f (see /alerts)' },
  { name: 'store', type: 'integer', ...FIELD_RANGES.store, positional: true, autocomplete: 'store', description: 'A store number' },
  { name: 'dept', type: 'integer', ...FIELD_RANGES.dept, aliases: ['department'], autocomplete: 'dept', description: 'One department (default: all)' },
  { name: 'region', type: 'string', description: 'A region name, e.g. West' },
  { name: 'scope', type: 'choice', choices: ['chain'], description: 'chain: all stores' },
  { name: 'below', type: 'string', aliases: ['under'], description: 'stock: weeks of cover (below 2 weeks); sales: forecast (below forecast)' },
  { name: 'pct', type: 'string', pattern: /^\d+(\.\d+)?%$/, description: 'sales below forecast: how far under the median, e.g. 10%' },
  { name: 'drop', type: 'string', description: 'sales: a drop vs the same week last year, e.g. drop 10%' },
  { name: 'basis', type: 'choice', choices: ['median', 'p90'], description: 'stock: cover at median or p90 demand (default p90)' },
  { name: 'to', type: 'string', aliases: ['email'], description: 'channel (default), me (a direct message), or an email address (admins)' },
  { name: 'for', type: 'choice', choices: ['day', 'week'], description: 'snooze: for a day or a week' },
] as const satisfies readonly OptionDef[];

export const ALERT_KEYWORDS = ['weeks', 'vs', 'last', 'year', 'of', 'cover', 'than'] as const;

/** A follow-up that runs /alert, in its canonical form (what buttons run and tests read back). */
export const alertLine = (args: ArgsOf<typeof alertOptions>) => commandLine({ name: 'alert', options: alertOptions }, args);
export const ALERTS_LINE = '/alerts';
