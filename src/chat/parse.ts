import { closest, distance } from 'fastest-levenshtein';
import { PRINCIPAL_LIKE, principalFromText, type MentionPlace } from '../access/principal.ts';
import type { ArgsOf, Command, OptionDef, OptionValue, ParsedOptions } from './command.ts';
import { UserError } from './errors.ts';

/**
 * Slack gives a command one free-text field; this turns it into typed options, forgivingly:
 *
 *   store 5 week 12 | store 5 weeks 12 | store=5 horizon=12 | store:5 | 5 12 (positional)
 *
 * Keywords and choices are case-insensitive; "super bowl" and "labor day" may be two words.
 * Anything it cannot place is a UserError naming the word, with usage, an example and,
 * for a near miss, a suggestion ("stor 5" -> "store 5").
 */

export function usage(command: Command): string {
  const parts = command.options.map((o) => {
    const shown = `${o.name} ${placeholder(o)}`;
    return o.required ? shown : `[${shown}]`;
  });
  return [`/${command.name}`, ...parts, ...(command.keywords?.length ? [`[${command.keywords.join('|')}]`] : [])].join(' ');
}

function placeholder(o: OptionDef): string {
  switch (o.type) {
    case 'integer':
      return o.name === 'store' ? 'N' : o.name === 'dept' ? 'D' : `${o.min}-${o.max}`;
    case 'date':
      return 'YYYY-MM-DD';
    case 'choice':
      return o.choices.join('|');
    case 'string':
      return o.name.toUpperCase();
    case 'principal':
      return '@USER|@ROLE';
  }
}

function fail(command: Command, message: string, suggestion?: string): never {
  throw new UserError(message, { usage: usage(command), example: command.examples[0], suggestion });
}

/**
 * Validates and converts one raw value for `o`; shared by free text and typed (Discord) options.
 * `where` (the asker's platform and workspace) turns a mention into a principal key; without
 * it only keys are principals.
 */
export function coerceOption(command: Command, o: OptionDef, raw: unknown, where?: MentionPlace): OptionValue {
  const text = String(raw ?? '').trim();
  switch (o.type) {
    case 'integer': {
      if (!/^[-+]?\d+$/.test(text)) fail(command, `${o.name} must be a whole number, got "${text}".`);
      const n = Number(text);
      if (n < o.min || n > o.max) fail(command, `${o.name} ${n} is out of range: use ${o.min} to ${o.max}.`);
      return n;
    }
    case 'date': {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
      const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
      if (!d || d.toISOString().slice(0, 10) !== text) fail(command, `${o.name} must be a date like 2012-02-10, got "${text}".`);
      return text;
    }
    case 'choice': {
      const value = normaliseChoice(text);
      const hit = o.choices.find((c) => normaliseChoice(c) === value);
      if (hit) return hit;
      const near = closest(value, [...o.choices]);
      fail(
        command,
        `${o.name} must be one of ${o.choices.join(', ')}; got "${text}".`,
        near && distance(value, near) <= 2 ? `${o.name} ${near}` : undefined,
      );
    }
    // falls through: fail() never returns
    case 'string':
      if (text === '') fail(command, `${o.name} needs a value.`);
      return text;
    case 'principal':
      if (text === '') fail(command, `${o.name} needs a value: mention a user or role.`);
      try {
        return principalFromText(text, where);
      } catch (err) {
        return fail(command, `${o.name}: ${(err as Error).message}`);
      }
  }
}

const normaliseChoice = (s: string) => s.toLowerCase().replace(/[\s_]+/g, '-');

/** A principal key (`slack:T1/U2`) is one word, not `slack` = `T1/U2`. */
const PRINCIPAL_KEY = /^(slack|discord|discord-role|token):/i;

function tokenize(text: string, principals: boolean): string[] {
  const joined = text
    // A mention's label may have spaces (`<@U2|bob smith>`): one word all the same.
    .replace(/<[@!#][^<>]*>/g, (m) => (principals ? m.replace(/\s+/g, '_') : m))
    .replace(/\bsuper\s+bowl\b/gi, 'super-bowl')
    .replace(/\blabou?r\s+day\b/gi, 'labor-day')
    .replace(/[\u201c\u201d"']/g, '');
  const tokens: string[] = [];
  for (const raw of joined.trim().split(/\s+/)) {
    if (!raw) continue;
    const kv = principals && PRINCIPAL_KEY.test(raw) ? null : /^([a-z-]+)[=:](.+)$/i.exec(raw);
    if (kv) tokens.push(kv[1]!, kv[2]!);
    else tokens.push(raw);
  }
  return tokens;
}

/** `where`: the asker's platform and workspace, for mentions (see coerceOption). */
export function parseText(command: Command, text: string, where?: MentionPlace): ParsedOptions {
  const tokens = tokenize(text, command.options.some((o) => o.type === 'principal'));
  const keywordOf = new Map<string, OptionDef>();
  for (const o of command.options) for (const k of [o.name, ...(o.aliases ?? [])]) keywordOf.set(k.toLowerCase(), o);
  const ignored = new Set((command.keywords ?? []).map((k) => k.toLowerCase()));
  const result: ParsedOptions = {};

  const set = (o: OptionDef, raw: string) => {
    if (result[o.name] !== undefined) fail(command, `${o.name} is given twice.`);
    result[o.name] = coerceOption(command, o, raw, where);
  };

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const lower = token.toLowerCase();
    const option = keywordOf.get(lower);
    if (option) {
      const next = tokens[i + 1];
      if (next === undefined || keywordOf.has(next.toLowerCase())) fail(command, `${option.name} needs a value, e.g. "${option.name} ${example(option)}".`);
      set(option, next);
      i++;
      continue;
    }
    if (ignored.has(lower)) continue;
    const choice = command.options.find(
      (o) => o.type === 'choice' && result[o.name] === undefined && o.choices.some((c) => normaliseChoice(c) === normaliseChoice(token)),
    );
    if (choice) {
      set(choice, token);
      continue;
    }
    const patterned = command.options.find((o) => o.type === 'string' && o.pattern?.test(token) && result[o.name] === undefined);
    if (patterned) {
      set(patterned, token);
      continue;
    }
    const principal = PRINCIPAL_LIKE.test(token) ? command.options.find((o) => o.type === 'principal' && result[o.name] === undefined) : undefined;
    if (principal) {
      set(principal, token);
      continue;
    }
    if (/^[-+]?\d+$/.test(token) || /^\d{4}-\d{2}-\d{2}$/.test(token)) {
      const isDate = token.includes('-') && token.length === 10;
      const positional = command.options.find(
        (o) => o.positional && result[o.name] === undefined && (isDate ? o.type === 'date' : o.type === 'integer'),
      );
      if (positional) {
        set(positional, token);
        continue;
      }
      fail(command, `I don't know what "${token}" is for here.`);
    }
    fail(command, `Unknown word "${token}".`, suggestFor(command, lower, tokens[i + 1]));
  }

  for (const o of command.options) {
    if (result[o.name] === undefined && o.default !== undefined) result[o.name] = o.default;
    if (result[o.name] === undefined && o.required) fail(command, `Missing ${o.name}: say which ${o.name}, e.g. "${o.name} ${example(o)}".`);
  }
  return result;
}

function example(o: OptionDef): string {
  if (o.type === 'integer') return String(o.default ?? Math.min(o.max, Math.max(o.min, 5)));
  if (o.type === 'choice') return o.choices[0]!;
  if (o.type === 'date') return '2012-02-10';
  if (o.type === 'principal') return '@name';
  return 'value';
}

function suggestFor(command: Command, word: string, next: string | undefined): string | undefined {
  const vocabulary = [
    ...command.options.flatMap((o) => [o.name, ...(o.aliases ?? []), ...(o.type === 'choice' ? o.choices : [])]),
    ...(command.keywords ?? []),
  ];
  const near = closest(word, vocabulary);
  if (!near || distance(word, near) > Math.max(1, Math.floor(word.length / 3))) return undefined;
  return next !== undefined ? `${near} ${next}` : near;
}

/**
 * Typed options (Discord): the same validation as free text, without the text. A user or role
 * option arrives as mention text (`<@2>`, `<@&9>`), made by the adapter from the resolved data.
 */
export function parseTyped(command: Command, raw: Record<string, unknown>, where?: MentionPlace): ParsedOptions {
  const result: ParsedOptions = {};
  for (const [name, value] of Object.entries(raw)) {
    const o = command.options.find((x) => x.name === name);
    if (!o) fail(command, `Unknown option "${name}".`);
    if (value !== undefined && value !== null && value !== '') result[name] = coerceOption(command, o, value, where);
  }
  for (const o of command.options) {
    if (result[o.name] === undefined && o.default !== undefined) result[o.name] = o.default;
    if (result[o.name] === undefined && o.required) fail(command, `Missing ${o.name}.`);
  }
  return result;
}

/**
 * The canonical text form of options: definition order, `name value`, defaults left out
 * (the parser fills them in again). parseText reads it back to the same options as long as
 * each string value is one word and not one of the command's keywords: free text has no quoting.
 */
export function formatOptions(command: Pick<Command, 'options'>, options: ParsedOptions): string {
  return command.options
    .filter((o) => options[o.name] !== undefined && options[o.name] !== o.default)
    .map((o) => `${o.name} ${options[o.name]}`)
    .join(' ');
}

/**
 * A whole command line from the target command's definition and values, e.g.
 * `commandLine(holidayImpact, { store: 5 })` is `/holiday-impact store 5`: what follow-up
 * buttons run and the CSV button repeats. Typed from the definitions, so a follow-up cannot
 * name an option the target does not have.
 */
export function commandLine<Defs extends readonly OptionDef[]>(command: Pick<Command<Defs>, 'name' | 'options'>, args: ArgsOf<Defs>): string {
  const text = formatOptions(command, args);
  return text ? `/${command.name} ${text}` : `/${command.name}`;
}

export function suggestCommand(name: string, names: readonly string[]): string | undefined {
  const near = closest(name, [...names]);
  return near && distance(name, near) <= Math.max(2, Math.floor(name.length / 3)) ? near : undefined;
}
