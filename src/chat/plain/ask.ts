import { resolveAccess } from '../../access/access.ts';
import type { Database } from '../../db/client.ts';
import type { Asker, ChatServices as Services } from '../dispatch.ts';
import type { AskedWhere, CommandRegistry, DispatchOutcome } from '../dispatch.ts';
import type { Reply } from '../reply.ts';
import { usage } from '../parse.ts';
import type { Reading } from './read.ts';
import { understand, type Understanding } from './understand.ts';
import { vocabularyOf } from './vocabulary.ts';

/** Questions worth trying, shown when one could not be read. */
export const EXAMPLE_QUESTIONS = [
  'how did store 5 do last week?',
  'what will dept 7 in store 12 sell over the next 8 weeks',
  'is store 5 low on stock?',
  'did the spring-push campaign work?',
  'top 5 stores by growth',
  'how much does Christmas lift sales in the South?',
];

/** An answer with how its question was read: the line it ran and, when unsure, the two readings. */
export type AskOutcome = DispatchOutcome & { readAs?: string; readings?: string[] };

/** Reads what someone typed (a command line or a plain question) with the chain's names. */
export async function understandText(deps: { registry: CommandRegistry; db: Database }, text: string, where: AskedWhere): Promise<Understanding> {
  return understand(text, deps.registry, await vocabularyOf(deps.db), where);
}

/** The answer starts with how the question was read, so a wrong reading shows at once. */
export function markRead(outcome: DispatchOutcome, line: string): AskOutcome {
  const reply = outcome.reply;
  return { ...outcome, reply: { ...reply, summary: `Read as \`${line}\`. ${reply.summary}` }, readAs: line };
}

/** `run` whose answers start with how the question was read (for adapters that answer after an ack). */
export function runReadAs(run: Services['run'], line: string): Services['run'] {
  return async (input, asker, requestId) => markRead(await run(input, asker, requestId), line);
}

const asked = (r: Reading) => ({ label: r.line, command: r.line });

/** At most this many stores are offered as buttons for a question about a region's stores. */
const STORES_OFFERED = 5;

/**
 * The stores of `region` the asker may see, for "which stores are low on stock in the West"
 * when the command answers one store at a time: never a store they may not see.
 */
export async function visibleStoresIn(services: Pick<Services, 'db' | 'config'>, asker: Asker, region: string): Promise<number[]> {
  const access = await resolveAccess(services.db, services.config.access, asker);
  const narrowed = await access.narrow({ kind: 'region', region });
  if (narrowed.kind === 'stores') return [...narrowed.stores].sort((a, b) => a - b);
  const rows = await services.db.query<{ store_id: number }>('SELECT store_id FROM stores WHERE lower(region) = lower($1) ORDER BY store_id', [region]);
  return rows.map((r) => Number(r.store_id));
}

/**
 * The answer to a question not read as one command: two readings, a missing store, or none.
 * `stores`: for a missing store of a region's question, the asker's stores there (offered as buttons).
 */
export function unreadReply(u: Exclude<Understanding, { kind: 'command' | 'read' }>, registry: CommandRegistry, stores?: readonly number[]): Reply {
  const base = { facts: [], visibility: 'ephemeral' as const, context: {} };
  if (u.kind === 'unsure') {
    return {
      ...base,
      title: 'Which did you mean?',
      summary: `I can read that two ways: \`${u.readings[0].line}\` or \`${u.readings[1].line}\`. Pick one, or ask again with more words.`,
      actions: u.readings.map(asked),
      data: { error: { code: 'UNSURE', readings: u.readings.map((r) => r.line) } },
    };
  }
  if (u.kind === 'incomplete') {
    const command = registry.get(u.reading.command)!;
    const missing = u.reading.missing.join(' and ');
    if (stores && u.reading.region && u.reading.missing.join() === 'store') {
      const lines = stores.slice(0, STORES_OFFERED).map((store) => `/${command.name} store ${store}`);
      return {
        ...base,
        title: 'Which store?',
        summary: stores.length
          ? `I read that as \`/${command.name}\`, which answers one store at a time. Your stores in ${u.reading.region}: ${stores.join(', ')}. Pick one.`
          : `I read that as \`/${command.name}\`, which answers one store at a time, and you may not see any store in ${u.reading.region}.`,
        actions: lines.map((line) => ({ label: line, command: line })),
        data: { error: { code: 'INCOMPLETE', command: command.name, missing: u.reading.missing, region: u.reading.region, stores } },
      };
    }
    return {
      ...base,
      title: `Which ${missing}?`,
      summary: `I read that as \`/${command.name}\`, which answers one ${missing} at a time: say which, e.g. "${command.examples[0]!.replace(/^\//, '')}".`,
      facts: [{ label: 'Usage', value: usage(command) }],
      actions: command.examples.slice(0, 2).map((e) => ({ label: e, command: e })),
      data: { error: { code: 'INCOMPLETE', command: command.name, missing: u.reading.missing } },
    };
  }
  return {
    ...base,
    title: 'I could not read that as a question',
    summary: 'I answer questions about sales, forecasts, stock, campaigns and holidays, by store, department or region. Try one of these, or /help for every command.',
    facts: [{ label: 'Examples', value: EXAMPLE_QUESTIONS.join('\n') }],
    actions: [{ label: 'Help', command: '/help' }],
    data: { error: { code: 'NOT_UNDERSTOOD' } },
  };
}

/** The reply to a question that was not run, with the asker's stores when it asked about a region's. */
export async function unreadAnswer(services: Pick<Services, 'registry' | 'db' | 'config'>, u: Exclude<Understanding, { kind: 'command' | 'read' }>, asker: Asker): Promise<Reply> {
  const region = u.kind === 'incomplete' ? u.reading.region : undefined;
  return unreadReply(u, services.registry, region ? await visibleStoresIn(services, asker, region) : undefined);
}

/** Not run: what was wrong, in the shape of a user error (every surface shows those already). */
async function unreadOutcome(services: Pick<Services, 'registry' | 'db' | 'config'>, u: Exclude<Understanding, { kind: 'command' | 'read' }>, asker: Asker): Promise<AskOutcome> {
  const reply = await unreadAnswer(services, u, asker);
  const readings = u.kind === 'unsure' ? u.readings.map((r) => r.line) : undefined;
  const suggestion = u.kind === 'unsure' ? u.readings[0].line : undefined;
  return { kind: 'user-error', reply, error: { message: reply.summary, suggestion }, readings };
}

/**
 * The one way every surface answers what someone typed: the console, POST /api/v1/commands,
 * `storecast ask`, and Slack and Discord mentions and direct messages. A command line runs as
 * it is; a plain question runs as the line it was read as. Either way through `run`, so the
 * parser, the access check, the rate limit and the audit row are the ones any command gets.
 */
export async function ask(services: Pick<Services, 'registry' | 'db' | 'run' | 'config'>, text: string, asker: Asker, requestId?: string): Promise<AskOutcome> {
  const u = await understandText(services, text, asker);
  if (u.kind === 'command') return services.run(u.input, asker, requestId);
  if (u.kind === 'read') return markRead(await services.run(u.input, asker, requestId), u.reading.line);
  return unreadOutcome(services, u, asker);
}
