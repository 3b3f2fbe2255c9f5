/**
 * How well plain questions are read: the share of the phrasing fixture mapped to the expected
 * command, and to the expected command line, with each miss printed; and what reading costs.
 *
 *   npx tsx bench/plain-questions.ts [fixture.json]
 */
import { readFileSync } from 'node:fs';
import { createRegistry } from '../commands/index.ts';
import { formatOptions, parseText } from '../src/chat/parse.ts';
import { understand, type Understanding } from '../src/chat/plain/understand.ts';
import type { CommandRegistry } from '../src/chat/dispatch.ts';

interface Case { q: string; line?: string; command?: string | null; missing?: string[] }
const path = process.argv[2] ?? new URL('../test/fixtures/plain-questions.json', import.meta.url);
const fixture = JSON.parse(readFileSync(path, 'utf8')) as { vocabulary: Parameters<typeof understand>[2]; questions: Case[] };
const registry = createRegistry();

/** The command and canonical line a question was read as (null: not read as one). */
export function outcomeOf(u: Understanding, reg: CommandRegistry): { command: string | null; line?: string } {
  if (u.kind === 'command') {
    const cmd = reg.get(u.input.name)!;
    const text = formatOptions(cmd, parseText(cmd, u.input.text ?? ''));
    return { command: cmd.name, line: text ? `/${cmd.name} ${text}` : `/${cmd.name}` };
  }
  if (u.kind === 'read') return { command: u.reading.command, line: u.reading.line };
  if (u.kind === 'incomplete') return { command: u.reading.command };
  if (u.kind === 'unsure') return { command: u.readings[0].command, line: `unsure: ${u.readings.map((r) => `${r.line} (${r.score})`).join(' | ')}` };
  return { command: null };
}

let commands = 0;
let lines = 0;
for (const t of fixture.questions) {
  const got = outcomeOf(understand(t.q, registry, fixture.vocabulary, { platform: 'cli' }), registry);
  const expected = t.line ? t.line.split(' ')[0]!.slice(1) : (t.command ?? null);
  const sameCommand = got.command === expected && !got.line?.startsWith('unsure');
  const sameLine = t.line ? got.line === t.line : sameCommand;
  commands += sameCommand ? 1 : 0;
  lines += sameLine ? 1 : 0;
  if (!sameLine) console.log(`${sameCommand ? 'line' : 'MISS'}  ${JSON.stringify(t.q)} -> ${got.line ?? got.command}   expected ${t.line ?? t.command}`);
}
const n = fixture.questions.length;
// Reading cost alone (no database, no command run): every question 20 times, warm.
const started = performance.now();
for (let i = 0; i < 20; i++) for (const t of fixture.questions) understand(t.q, registry, fixture.vocabulary, { platform: 'cli' });
console.log(`reading: ${((1000 * (performance.now() - started)) / (20 * n)).toFixed(0)} µs per question (mean of ${20 * n})`);
console.log(`${n} questions: ${commands} (${((100 * commands) / n).toFixed(1)}%) read as the expected command, ${lines} (${((100 * lines) / n).toFixed(1)}%) as the expected line`);
