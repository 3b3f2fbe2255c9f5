import type { Access } from '../access/access.ts';
import { channelAudience, type Audience } from '../access/audience.ts';
import type { Logger } from '../logger.ts';
import type { Scope } from '../scope.ts';
import type { Asker, ChatServices as Services } from './dispatch.ts';
import type { CommandInput } from './dispatch.ts';
import { commandLine } from './parse.ts';
import type { Reply } from './reply.ts';

/** Where an answer goes, as each platform does it (Slack messages, Discord interaction edits). */
export interface AnswerChannel {
  /** Only the asker sees it: errors, answers marked ephemeral. */
  showPrivately(reply: Reply, commandLine: string | undefined): Promise<void>;
  /** The table as a file and nothing else (the CSV button). */
  sendCsvOnly(reply: Reply): Promise<void>;
  /** Everyone in the channel sees it; the chart and files come with it as the platform allows. */
  showPublicly(reply: Reply, commandLine: string): Promise<void>;
  /** Tells the asker alone that something failed after the ack. */
  reportFailure(text: string): Promise<void>;
}

export interface AnswerRequest {
  input: CommandInput;
  asker: Asker;
  requestId: string;
  /** Only the CSV (the "CSV" button). */
  csvOnly?: boolean;
  /** Post it in this channel although it has no audience yet (the "Share to channel" button). */
  share?: boolean;
}

/** The adapters' own words in a command line: `csv` (the table as a file too), `share` (see AnswerRequest). */
export function answerWords(text: string): { text: string; csv: boolean; share: boolean } {
  const words = text.split(/\s+/).filter(Boolean);
  const csv = words.some((w) => /^(--)?csv$/i.test(w));
  const share = words.some((w) => /^(--)?share$/i.test(w));
  return { text: words.filter((w) => !/^(--)?(csv|share)$/i.test(w)).join(' '), csv, share };
}

/**
 * In a channel without an audience (restricted mode), a manager of the answer's data may
 * share it there, deliberately: the private answer offers the button, the click posts it.
 */
async function mayShare(access: Access, reach: Scope | undefined): Promise<boolean> {
  return reach !== undefined && (await access.covers('manager', reach));
}

/** Chat answers go to a channel with an audience; other surfaces show the asker alone. */
async function audienceOf(services: Pick<Services, 'db' | 'config'>, asker: Asker, reach: Scope | undefined): Promise<Audience> {
  if ((asker.platform !== 'slack' && asker.platform !== 'discord') || !asker.channel) return { post: true };
  return channelAudience(services.db, services.config.access.mode, { platform: asker.platform, workspace: asker.workspace, channel: asker.channel }, reach);
}

/**
 * Everything after an ack, the same on every platform: run the command, then show the
 * answer privately (errors, ephemeral replies), as a CSV only, or publicly. A failure on the
 * way ends as a private note with a reference, logged with the details.
 */
export async function answer(services: Pick<Services, 'run' | 'metrics' | 'db' | 'config'>, request: AnswerRequest, channel: AnswerChannel, log: Logger): Promise<void> {
  try {
    const outcome = await services.run(request.input, request.asker, request.requestId);
    const { reply } = outcome;
    const line = outcome.kind === 'ok' ? commandLine(outcome.command, outcome.options) : undefined;
    if (outcome.kind !== 'ok' || reply.visibility === 'ephemeral') return await channel.showPrivately(reply, line);
    const audience = await audienceOf(services, request.asker, outcome.reach);
    if (!audience.post) {
      const shareable = audience.unbound && (await mayShare(outcome.access, outcome.reach));
      if (!(shareable && request.share)) {
        const share = shareable ? [{ label: 'Share to channel', command: `${line} share` }] : [];
        return await channel.showPrivately({ ...reply, actions: [...share, ...reply.actions], context: { ...reply.context, notes: [audience.why, ...(reply.context.notes ?? [])] } }, line);
      }
    }
    if (request.csvOnly) await channel.sendCsvOnly(reply);
    else await channel.showPublicly(reply, line!);
  } catch (err) {
    const ref = request.requestId.slice(0, 8);
    services.metrics.errors.inc({ kind: 'delivery' });
    log.error({ err, ref, input: request.input }, 'answer delivery failed');
    await channel
      .reportFailure(`Sorry, I could not post the answer to \`/${request.input.name}\` here (ref ${ref}). Please try again in a minute.`)
      .catch((e: unknown) => log.error({ err: e, ref }, 'could not tell the asker about the failed delivery either'));
  }
}
