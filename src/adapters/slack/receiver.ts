import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import { Hono } from 'hono';
import type { Logger } from '../../logger.ts';
import { readBody } from '../../util/body.ts';
import { verifySlackRequest } from './verify.ts';

const MAX_BODY_BYTES = 1024 * 1024;

export interface HonoReceiverOptions {
  signingSecret: string;
  logger: Logger;
  /** Keeps the rest of a listener's work (after the ack) alive through a graceful shutdown. */
  track?: <T>(work: Promise<T>) => Promise<T>;
  /** Called for every refused request (metrics). */
  onRejected?: (reason: string) => void;
  /** Slack gives up after 3 s; log loudly when a listener has not acked by then. */
  unhandledRequestTimeoutMs?: number;
}

/**
 * A Bolt `Receiver` served by Hono (the shape of bolt-js's custom receiver example): verifies
 * the signature over the raw body, answers `ssl_check` and `url_verification` itself, hands
 * everything else to `app.processEvent` and answers the HTTP request with whatever the
 * listener passes to `ack()` — at that moment, while the listener goes on with the slow part.
 */
export class HonoReceiver implements Receiver {
  private bolt: App | undefined;

  constructor(private readonly options: HonoReceiverOptions) {}

  init(app: App): void {
    this.bolt = app;
  }

  /** Nothing to listen on: the server mounts `routes()`. */
  async start(): Promise<Hono> {
    return this.routes();
  }

  async stop(): Promise<void> {}

  routes(): Hono {
    const routes = new Hono();
    routes.post('/events', (c) => this.handle(c.req.raw));
    return routes;
  }

  async handle(request: Request): Promise<Response> {
    const { logger } = this.options;
    const raw = await readBody(request, MAX_BODY_BYTES);
    if (!raw) return new Response('payload too large', { status: 413 });
    // Slack's certificate check for slash command URLs: nothing to run, answered as Bolt does.
    if (raw.includes('ssl_check=1') && new URLSearchParams(raw.toString('utf8')).get('ssl_check') === '1') return new Response('', { status: 200 });
    const verdict = verifySlackRequest({
      signingSecret: this.options.signingSecret,
      body: raw,
      timestamp: request.headers.get('x-slack-request-timestamp') ?? undefined,
      signature: request.headers.get('x-slack-signature') ?? undefined,
    });
    if (!verdict.ok) {
      this.options.onRejected?.(verdict.reason);
      logger.warn({ reason: verdict.reason }, 'slack request refused');
      return new Response('invalid request signature', { status: 401 });
    }

    let body: Record<string, unknown>;
    try {
      body = parseBody(raw.toString('utf8'), request.headers.get('content-type') ?? '');
    } catch {
      return new Response('unreadable body', { status: 400 });
    }
    if (body.type === 'url_verification') return Response.json({ challenge: body.challenge });
    if (!this.bolt) return new Response('not ready', { status: 503 });

    let settle!: (response: Response) => void;
    const answered = new Promise<Response>((resolve) => (settle = resolve));
    let acked = false;
    const timer = setTimeout(() => {
      if (!acked) logger.error({ timeoutMs: this.options.unhandledRequestTimeoutMs ?? 3001 }, 'slack request not acknowledged in time');
    }, this.options.unhandledRequestTimeoutMs ?? 3001);
    timer.unref();

    const event: ReceiverEvent = {
      body,
      retryNum: numberHeader(request.headers.get('x-slack-retry-num')),
      retryReason: request.headers.get('x-slack-retry-reason') ?? undefined,
      customProperties: {},
      ack: async (response?: unknown) => {
        if (acked) throw new Error('ack() was called twice for one Slack request');
        acked = true;
        clearTimeout(timer);
        settle(
          response === undefined || response === null || response === ''
            ? new Response('', { status: 200 })
            : typeof response === 'string'
              ? new Response(response, { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' } })
              : Response.json(response),
        );
      },
    };
    const processing = this.bolt.processEvent(event).then(
      () => {
        if (!acked) {
          clearTimeout(timer);
          logger.info({ type: body.type ?? body.command }, 'no slack listener acknowledged the request');
          settle(new Response('', { status: 404 }));
        }
      },
      (err: unknown) => {
        logger.error({ err }, 'slack event processing failed');
        if (!acked) {
          clearTimeout(timer);
          settle(new Response('internal error', { status: 500 }));
        }
      },
    );
    void (this.options.track ? this.options.track(processing) : processing);
    return answered;
  }
}

/** Slash commands and interactivity are form-encoded (interactivity as `payload=<json>`); events are JSON. */
export function parseBody(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/x-www-form-urlencoded')) {
    const form = Object.fromEntries(new URLSearchParams(raw));
    return typeof form.payload === 'string' ? (JSON.parse(form.payload) as Record<string, unknown>) : form;
  }
  return JSON.parse(raw) as Record<string, unknown>;
}

function numberHeader(v: string | null): number | undefined {
  return v !== null && /^\d+$/.test(v) ? Number(v) : undefined;
}
