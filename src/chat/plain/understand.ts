import type { AskedWhere, CommandInput, CommandRegistry } from '../dispatch.ts';
import { precheck, splitCommandLine } from '../dispatch.ts';
import { readQuestion, type Reading, type Vocabulary } from './read.ts';

/** Below this a reading is a guess: "I could not read that". */
export const MIN_SCORE = 2;
/** Two readings of different commands this close are both offered rather than one guessed. */
export const UNSURE_MARGIN = 0.6;
/** Questions are a sentence or two; a longer text (a pasted report) is not read as one. */
export const MAX_QUESTION_CHARS = 500;

export type Understanding =
  /** A command line as typed (`/forecast store 5`, `forecast store 5`): run as it is. */
  | { kind: 'command'; input: CommandInput }
  /** A plain question read one way. */
  | { kind: 'read'; reading: Reading; input: CommandInput; readings: Reading[] }
  /** Two readings close in score: offered, not guessed. */
  | { kind: 'unsure'; readings: [Reading, Reading] }
  /** Read as a command that needs what the question did not say (a store). */
  | { kind: 'incomplete'; reading: Reading }
  | { kind: 'none'; readings: Reading[] };

/**
 * What someone typed, as a command to run: a command line when it starts with `/` or with a
 * command's name and parses as one; otherwise a plain question, read by readQuestion. Either
 * way the result is a command line for dispatch, which checks it like any other.
 */
export function understand(text: string, registry: CommandRegistry, vocabulary: Vocabulary, where: AskedWhere): Understanding {
  const trimmed = text.trim();
  const typed = splitCommandLine(trimmed);
  if (trimmed.startsWith('/') || (registry.has(typed.name.toLowerCase()) && !precheck(registry, typed, where))) {
    return { kind: 'command', input: { name: typed.name.toLowerCase(), text: typed.text } };
  }
  if (trimmed.length > MAX_QUESTION_CHARS) return { kind: 'none', readings: [] };
  const readings = readQuestion(trimmed, registry, vocabulary);
  const [best, second] = readings;
  if (!best || best.score < MIN_SCORE) return { kind: 'none', readings };
  const rival = readings.find((r) => r.command !== best.command && !r.missing.length);
  if (!best.missing.length && rival && rival.score >= MIN_SCORE && best.score - rival.score < UNSURE_MARGIN) return { kind: 'unsure', readings: [best, rival] };
  if (best.missing.length) return second && !second.missing.length && best.score - second.score < UNSURE_MARGIN ? { kind: 'read', reading: second, input: inputOf(second), readings } : { kind: 'incomplete', reading: best };
  return { kind: 'read', reading: best, input: inputOf(best), readings };
}

/**
 * A reading runs as typed options, as Discord's do: the same checks as its command line, and
 * a value with a space in it (a region named "Gulf Coast") stays one value.
 */
function inputOf(reading: Reading): CommandInput {
  return { name: reading.command, options: { ...reading.options } };
}
