import type { Database } from '../db/client.ts';
import type { Forecaster } from '../forecast/forecaster.ts';
import type { CommandAccess } from './access.ts';
import type { Reply } from './reply.ts';

export type Platform = 'slack' | 'discord' | 'cli' | 'web' | 'api' | 'webhook';

/** Who asks, from where, and the services a handler may use. Built by each adapter. */
export interface CommandContext {
  platform: Platform;
  /** Slack team id or Discord guild id. */
  workspace?: string;
  channel?: string;
  user?: string;
  roles: string[];
  db: Database;
  forecaster: Forecaster;
  now: () => Date;
  /** Correlates logs of one request; shown to users as the reference of internal errors. */
  requestId: string;
}

interface OptionBase {
  name: string;
  description: string;
  required?: boolean;
  /** Other words that introduce this option in free text: `week`, `weeks` for `horizon`. */
  aliases?: string[];
  /** May be given as a bare value without its keyword (`/forecast 5`), in this order. */
  positional?: boolean;
  /** Offer store or department numbers as the user types (Discord autocomplete). */
  autocomplete?: 'store' | 'dept';
}

export interface IntegerOption extends OptionBase {
  type: 'integer';
  min: number;
  max: number;
  default?: number;
}

export interface DateOption extends OptionBase {
  type: 'date';
  default?: string;
}

export interface ChoiceOption extends OptionBase {
  type: 'choice';
  choices: readonly string[];
  default?: string;
}

export interface StringOption extends OptionBase {
  type: 'string';
  default?: string;
  /** A bare word matching this is taken as the value without its keyword ("08:00" for `at`). */
  pattern?: RegExp;
}

export type OptionDef = IntegerOption | DateOption | ChoiceOption | StringOption;

export type OptionValue = string | number;
export type ParsedOptions = Record<string, OptionValue | undefined>;

/**
 * A slash command, platform-neutral. One definition drives Slack's text parsing,
 * Discord's typed options, /help and the web console.
 */
export interface Command {
  name: string;
  description: string;
  options: readonly OptionDef[];
  /** Bare words accepted and ignored in free text because they read naturally ("all"). */
  keywords?: readonly string[];
  /** Full command lines, e.g. "/forecast store 5 week 12". */
  examples: readonly string[];
  /** `manage` commands change what the product does for others; see chat/access.ts. Default `read`. */
  access?: CommandAccess;
  handler(options: ParsedOptions, ctx: CommandContext): Promise<Reply>;
}
