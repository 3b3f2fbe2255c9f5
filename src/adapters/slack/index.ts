import { SocketModeReceiver } from '@slack/bolt';
import { Hono } from 'hono';
import type { Services } from '../../services.ts';
import { createSlackApp, slackApiBase, type SlackAdapterOptions } from './app.ts';
import { boltLogger } from './logger.ts';
import { HonoReceiver } from './receiver.ts';

export { replyToMessage } from './blocks.ts';
export { slackSignature, verifySlackRequest } from './verify.ts';
export { HonoReceiver } from './receiver.ts';
export type { SlackAdapterOptions } from './app.ts';

/**
 * Slack over HTTP, mounted by the server at `/slack`: `POST /slack/events` takes slash
 * commands, interactivity (buttons) and Events API calls — one Request URL for all three.
 * Without SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN it answers 503 and runs nothing.
 */
export function slackRoutes(services: Services, options: SlackAdapterOptions = {}): Hono {
  const { signingSecret, botToken } = services.config.slack;
  if (!signingSecret || !botToken) {
    const off = new Hono();
    off.post('/events', (c) => c.text('Slack is not configured: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN.', 503));
    return off;
  }
  const receiver = new HonoReceiver({
    signingSecret,
    logger: services.logger.child({ component: 'slack' }),
    track: (work) => services.track(work),
    onRejected: () => services.metrics.errors.inc({ kind: 'platform' }),
  });
  createSlackApp(services, receiver, options);
  return receiver.routes();
}

/**
 * apps.connections.open retries of one connection attempt. The client's default (100 retries)
 * hides an outage for many minutes; the server's supervisor retries whole attempts instead,
 * with logged backoff.
 */
const SOCKET_OPEN_RETRY = { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 4_000 };

/**
 * Slack over Socket Mode (SLACK_APP_TOKEN, `xapp-...`): a WebSocket from here to Slack, so no
 * public URL. Same listeners as HTTP. Resolves once connected; rejects (cleaned up) when an
 * attempt fails. `report` hears later reconnections.
 */
export async function startSlackSocketMode(
  services: Services,
  options: SlackAdapterOptions = {},
  report: (state: 'connected' | 'retrying') => void = () => {},
): Promise<{ stop(): Promise<void> }> {
  const { appToken, apiUrl } = services.config.slack;
  if (!appToken) throw new Error('SLACK_APP_TOKEN is not set (an app-level token, xapp-..., with connections:write)');
  const receiver = new SocketModeReceiver({
    appToken,
    logger: boltLogger(services.logger),
    installerOptions: { clientOptions: { slackApiUrl: slackApiBase(apiUrl), retryConfig: SOCKET_OPEN_RETRY } },
  });
  const app = createSlackApp(services, receiver, options);
  try {
    await app.start();
  } catch (err) {
    await app.stop().catch(() => {});
    throw err;
  }
  receiver.client.on('reconnecting', () => report('retrying'));
  receiver.client.on('connected', () => report('connected'));
  services.logger.info({ component: 'slack' }, 'slack socket mode connected');
  return {
    async stop() {
      await app.stop();
    },
  };
}
