import type { Reply } from '../../chat/reply.ts';
import type { Logger } from '../../logger.ts';
import type { Services } from '../../services.ts';

/**
 * The reply's chart as PNG for a public answer, or none when it cannot be drawn: the answer then
 * goes out without it (counted and logged), never not at all. Interactions and messages share it.
 * Not in render.ts: delivery/send.ts reaches it (through adapters/discord/post.ts), and a Services import there closes a cycle.
 */
export async function chartPng(services: Pick<Services, 'renderChart' | 'metrics'>, reply: Reply, log: Logger): Promise<Buffer | undefined> {
  if (!reply.chart) return undefined;
  try {
    return await services.renderChart(reply.chart.spec);
  } catch (err) {
    services.metrics.errors.inc({ kind: 'internal' });
    log.error({ err }, 'chart render failed; answering without the chart');
    return undefined;
  }
}
