import type { Database } from '../db/client.ts';
import type { Forecaster } from '../forecast/forecaster.ts';
import type { Access, AccessSettings } from '../access/access.ts';
import type { Scope } from '../scope.ts';
import type { Platform } from '../access/principal.ts';
import type { Reply } from './reply.ts';

export type { Platform } from '../access/principal.ts';

/**
 * What a command does to the product: `read` answers questions about data; `manage` changes
 * what the product does for others (subscriptions, alerts); `admin` changes who may do what
 * (grants, channel audiences). The check itself is chat/access.ts.
 */
export type CommandAccess = 'read' | 'manage' | 'admin';

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
  /** What the asker may see and do (src/access/). */
  access: Access;
  /** Where people open this server (PUBLIC_URL, else http://localhost:PORT), for links in answers. */
  baseUrl: string;
  /**
   * The command's data reach after the access check: what it asked for, or, for a cross-store
   * question, the stores of it the asker may see. Handlers answer about this, nothing wider.
   */
  reach?: Scope;
  /** The access settings the asker was resolved with (mode, STORECAST_ADMINS): for judging others (console sessions after a revoke). */
  accessSettings?: AccessSettings;
  /**
   * The one outbound policy (STORECAST_OUTBOUND_ALLOW, src/net/outbound.ts) that judges a
   * user-given URL: the same one the API, the CLI and the senders use.
   */
  outbound: { check(url: string | URL): Promise<void> };
  /** Live alert rules one principal may have (STORECAST_ALERT_RULES_PER_PRINCIPAL); absent: no cap. */
  alertRulesPerPrincipal?: number;
  /** Starts a model retrain in the background (src/forecast/retrain.ts), as this asker; absent where none can run. */
  retrain?: () => Promise<RetrainStart>;
}

/**
 * A retrain started (its outcome goes to /model and the admin channel), queued for the worker
 * (asked on a serving replica that does no model work), or why not.
 */
export type RetrainStart = { started: true; id: number; queued?: true } | { started: false; reason: string };

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

/**
 * A user or role (Discord MENTIONABLE): in free text a mention (`<@U2|bob>` in Slack, `<@2>` or
 * `<@&9>` in Discord) or a key (`slack:T1/U2`). The parser gives the principal key, built from
 * the mention and the asker's workspace or guild (src/access/principal.ts).
 */
export interface PrincipalOption extends OptionBase {
  type: 'principal';
  /** None: who is meant is always said. */
  default?: undefined;
}

export type OptionDef = IntegerOption | DateOption | ChoiceOption | StringOption | PrincipalOption;


export type OptionValue = string | number;
/** Options as the parser returns them for any command; a handler sees `OptionsOf` its definitions. */
export type ParsedOptions = Record<string, OptionValue | undefined>;

/** The value the parser gives an option: integers are numbers, choices one of their choices. */
export type OptionValueOf<O extends OptionDef> = O extends { type: 'integer' }
  ? number
  : O extends { type: 'choice'; choices: readonly (infer C extends string)[] }
    ? C
    : string;

/** The parser always sets a required option (or refuses) and fills in a default. */
type AlwaysSet<O extends OptionDef> = O extends { required: true } ? true : O extends { default: OptionValue } ? true : false;

/** What a handler receives: `{ store: number; dept: number | undefined; horizon: number }` for /forecast. */
export type OptionsOf<Defs extends readonly OptionDef[]> = {
  [O in Defs[number] as O['name']]: AlwaysSet<O> extends true ? OptionValueOf<O> : OptionValueOf<O> | undefined;
};

/** What a command line must say: its required options; the rest may be left out (defaults fill in). */
export type ArgsOf<Defs extends readonly OptionDef[]> = {
  [O in Defs[number] as O extends { required: true } ? O['name'] : never]: OptionValueOf<O>;
} & {
  [O in Defs[number] as O extends { required: true } ? never : O['name']]?: OptionValueOf<O>;
};

/**
 * A slash command, platform-neutral. One definition drives Slack's text parsing,
 * Discord's typed options, /help and the web console.
 *
 * `Defs` types the handler's options (see `defineCommand`); plain `Command` is any command,
 * as the registry and dispatch hold them.
 */
export interface Command<Defs extends readonly OptionDef[] = readonly OptionDef[]> {
  name: string;
  description: string;
  options: Defs;
  /** Bare words accepted and ignored in free text because they read naturally ("all"). */
  keywords?: readonly string[];
  /** Full command lines, e.g. "/forecast store 5 week 12". */
  examples: readonly string[];
  /**
   * Always answers the asker alone (help, a sign-in link): Discord then defers privately too,
   * so not even "thinking…" shows in the channel.
   */
  answersPrivately?: boolean;
  /** `manage` commands change what the product does for others; see chat/access.ts. Default `read`. */
  access?: CommandAccess;
  /**
   * The access of a run with these options, when it depends on them (`/model` reads,
   * `/model retrain` is for admins); `access` stays the command's floor (Discord registration).
   */
  accessFor?(options: OptionsOf<Defs>): CommandAccess;
  /**
   * The data a run with these options reaches (a store, a region, the chain); none for
   * commands that show no sales data (/help). The one access check authorizes it before the
   * handler runs, and narrows a cross-store reach to the stores the asker may see (ctx.reach).
   */
  reach?(options: OptionsOf<Defs>): Scope | undefined;
  // Method syntax on purpose: its parameter is checked bivariantly, so a Command<Defs> is also
  // a plain Command whose handler takes ParsedOptions, and dispatch needs no cast either.
  handler(options: OptionsOf<Defs>, ctx: CommandContext): Promise<Reply>;
}

/**
 * A command whose handler's options are typed from its option definitions, so handlers read
 * `options.store` as a number without a cast. `const` keeps option names and choices literal.
 *
 * A handler that names other commands (follow-ups built with `commandLine`) declares its
 * return type, `: Promise<Reply>`: commands that name each other would otherwise each need
 * the other's type to infer their own, a cycle TypeScript reports as an implicit `any`.
 */
export function defineCommand<const Defs extends readonly OptionDef[]>(command: Command<Defs>): Command<Defs> {
  return command;
}
