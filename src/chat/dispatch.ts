import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Metrics } from '../metrics.ts';
import type { Command, CommandContext, ParsedOptions } from './command.ts';
import { AccessDenied, authorizeCommand } from './access.ts';
import { UserError } from './errors.ts';
import { parseText, parseTyped, suggestCommand, usage } from './parse.ts';
import type { Reply } from './reply.ts';
import type { Scope } from '../scope.ts';
import type { Access } from '../access/access.ts';
import { isDatabaseUnavailable } from '../db/health.ts';

export type CommandRegistry = ReadonlyMap<string, Command>;

/** A command as it arrives: Slack and the console send text, Discord sends typed options. */
export interface CommandInput {
  name: string;
  text?: string;
  options?: Record<string, unknown>;
}

export interface UserErrorInfo {
  message: string;
  usage?: string;
  example?: string;
  suggestion?: string;
}

export type DispatchOutcome =
  | { kind: 'ok'; reply: Reply; command: Command; options: ParsedOptions; /** The data the answer is about (after narrowing). */ reach?: Scope; /** The asker's access, resolved for this run. */ access: Access }
  | { kind: 'user-error'; reply: Reply; error: UserErrorInfo }
  /** Too many commands from this asker in the last minute: nothing ran. */
  | { kind: 'limited'; reply: Reply; error: { message: string; retryAfterSeconds: number } }
  /** The access check refused: nothing ran. */
  | { kind: 'denied'; reply: Reply; error: UserErrorInfo; /** The data it reached for, when it named some. */ scope?: Scope }
  /** `unavailable`: the database was away; nothing is wrong with the command, trying again shortly is. */
  | { kind: 'internal-error'; reply: Reply; error: { ref: string; unavailable?: true } };

export const newReference = () => randomBytes(4).toString('hex');

export function userErrorReply(error: UserErrorInfo): Reply {
  const facts = [
    ...(error.suggestion ? [{ label: 'Did you mean', value: error.suggestion }] : []),
    ...(error.usage ? [{ label: 'Usage', value: error.usage }] : []),
    ...(error.example ? [{ label: 'Example', value: error.example }] : []),
  ];
  // A corrected command line is offered as a one-click follow-up.
  const actions = error.suggestion?.startsWith('/') ? [{ label: `Run ${error.suggestion}`, command: error.suggestion }] : [];
  return { title: 'That command needs a fix', summary: error.message, facts, actions, visibility: 'ephemeral', context: {}, data: { error } };
}

/** The answer while the database is away: short, and says it passes. */
export function unavailableReply(ref?: string): Reply {
  return {
    title: 'Database unavailable',
    summary: `storecast cannot reach its database right now${ref ? ` (ref ${ref})` : ''}. Please try again shortly.`,
    facts: [],
    actions: [],
    visibility: 'ephemeral',
    context: {},
    data: { error: { code: 'DATABASE_UNAVAILABLE', ...(ref ? { ref } : {}) } },
  };
}

export function internalErrorReply(ref: string): Reply {
  return {
    title: 'Something went wrong',
    summary: `Something went wrong on our side (ref ${ref}). Please try again; if it keeps happening, share the reference with your admin.`,
    facts: [],
    actions: [],
    visibility: 'ephemeral',
    context: {},
    data: { error: { ref } },
  };
}

/** The answer when the queue of answers is full: nothing ran, so trying again is safe. */
export function busyReply(): Reply {
  return {
    title: 'Busy right now',
    summary: 'storecast is answering many questions at once and did not start yours. Please try again in a minute.',
    facts: [],
    actions: [],
    visibility: 'ephemeral',
    context: {},
    data: { error: { code: 'BUSY' } },
  };
}

/** The answer past the rate limit: nothing ran, so trying again later is safe. */
export function limitedReply(retryAfterSeconds: number, perMinute: number): Reply {
  return {
    title: 'Slow down a little',
    summary: `You have asked more than ${perMinute} questions in the last minute. Please try again in ${retryAfterSeconds} s.`,
    facts: [],
    actions: [],
    visibility: 'ephemeral',
    context: {},
    data: { error: { code: 'RATE_LIMITED', retryAfterSeconds } },
  };
}

/** Splits "/forecast store 5" into the name and the text after it. */
export function splitCommandLine(line: string): CommandInput {
  const trimmed = line.trim();
  const m = /^\/?(\S+)\s*([\s\S]*)$/.exec(trimmed);
  return { name: m?.[1] ?? '', text: m?.[2] ?? '' };
}

/** The arguments as typed, for a corrected command line: text as is, Discord options as `name value`. */
function argumentsOf(input: CommandInput): string {
  if (input.options) {
    return Object.entries(input.options)
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(' ');
  }
  return (input.text ?? '').trim();
}

/** The command as typed (`/forcast store 5`), for the audit row of one that was not answered. */
export function typedCommandLine(input: CommandInput): string {
  const args = argumentsOf(input);
  const name = `/${input.name.replace(/^\//, '')}`;
  return args ? `${name} ${args}` : name;
}

/**
 * The command an input names, or a UserError whose suggestion keeps the arguments
 * (`/forcast store 5` -> `/forecast store 5`), so the offered button runs what was meant.
 */
export function resolveCommand(registry: CommandRegistry, input: CommandInput): Command {
  const name = input.name.replace(/^\//, '').toLowerCase();
  const command = registry.get(name);
  if (command) return command;
  const near = suggestCommand(name, [...registry.keys()]);
  const nearCommand = near ? registry.get(near) : undefined;
  const args = argumentsOf(input);
  throw new UserError(`There is no /${name} command.`, {
    suggestion: near ? `/${near}${args ? ` ${args}` : ''}` : undefined,
    usage: nearCommand ? usage(nearCommand) : [...registry.keys()].map((n) => `/${n}`).join(', '),
    example: nearCommand ? nearCommand.examples[0] : '/help',
  });
}

/** Where the command was asked: mentions name users and roles of this platform and workspace. */
export type AskedWhere = Pick<CommandContext, 'platform' | 'workspace'>;

function parseInput(command: Command, input: CommandInput, where: AskedWhere): ParsedOptions {
  return input.options ? parseTyped(command, input.options, where) : parseText(command, input.text ?? '', where);
}

function userErrorInfo(err: UserError, command: Command | undefined): UserErrorInfo {
  const { code: _code, ...details } = err.details;
  return { message: err.message, usage: command ? usage(command) : undefined, example: command?.examples[0], ...details };
}

/**
 * The cheap half of dispatch: resolves the command and parses its options, no query. An
 * adapter runs it before acknowledging so a typo is answered in the ack itself, with the
 * very messages dispatch() would give.
 */
export function precheck(registry: CommandRegistry, input: CommandInput, where: AskedWhere): UserErrorInfo | undefined {
  let command: Command | undefined;
  try {
    command = resolveCommand(registry, input);
    parseInput(command, input, where);
    return undefined;
  } catch (err) {
    if (err instanceof UserError) return userErrorInfo(err, command);
    return undefined; // not ours to judge: dispatch() reports it as an internal error with a reference
  }
}

/**
 * The one flow every platform shares: resolve the command, parse its options, run it.
 * User mistakes come back as an ephemeral explanation; anything else is logged with a
 * reference the user can quote, never shown raw.
 */
export async function dispatch(registry: CommandRegistry, input: CommandInput, ctx: CommandContext, logger: Logger): Promise<DispatchOutcome> {
  const log = logger.child({ requestId: ctx.requestId, platform: ctx.platform, command: input.name });
  let command: Command | undefined;
  try {
    command = resolveCommand(registry, input);
    const options = parseInput(command, input, ctx);
    const reach = await authorizeCommand(command, options, ctx);
    const started = performance.now();
    const reply = await command.handler(options, { ...ctx, reach });
    log.info({ options, ms: Math.round(performance.now() - started) }, 'command answered');
    return { kind: 'ok', reply, command, options, reach, access: ctx.access };
  } catch (err) {
    if (err instanceof AccessDenied) {
      const error = { message: err.message };
      log.info({ error: err.message }, 'command denied');
      return { kind: 'denied', reply: { ...userErrorReply(error), title: 'Not allowed' }, error, scope: err.scope };
    }
    if (err instanceof UserError) {
      // Handlers refuse with a message; the usage and an example come from the definition.
      const error = userErrorInfo(err, command);
      log.info({ error: err.message }, 'command refused');
      return { kind: 'user-error', reply: userErrorReply(error), error };
    }
    const ref = ctx.requestId.slice(0, 8);
    if (isDatabaseUnavailable(err)) {
      log.warn({ err: String(err), ref, input }, 'command failed: database unavailable');
      return { kind: 'internal-error', reply: unavailableReply(ref), error: { ref, unavailable: true } };
    }
    log.error({ err, ref, input }, 'command failed');
    return { kind: 'internal-error', reply: internalErrorReply(ref), error: { ref } };
  }
}

/** Who asks, as an adapter knows them: the identity part of a CommandContext, and an API token's id. */
export type Asker = Pick<CommandContext, 'platform' | 'workspace' | 'channel' | 'user' | 'roles'> & {
  /** The API token a request came with (its grants apply). */
  tokenId?: string;
};

/**
 * What the chat core (chat/answer.ts, chat/plain/) calls back into. The wiring, src/services.ts,
 * provides it: the core names the little it needs instead of importing the house above it.
 */
export interface ChatServices {
  config: Config;
  db: Database;
  metrics: Pick<Metrics, 'errors'>;
  registry: CommandRegistry;
  run(input: CommandInput, asker: Asker, requestId?: string): Promise<DispatchOutcome>;
}
