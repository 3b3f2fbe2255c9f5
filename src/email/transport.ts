import nodemailer from 'nodemailer';
import type { Config } from '../config.ts';
import { describeOutboundError, type Outbound } from '../net/outbound.ts';
import { httpResult, type SendResult } from '../delivery/result.ts';
import type { EmailMessage } from './render.ts';

/**
 * Mail transports: SMTP (SMTP_URL, through nodemailer) or SendGrid's v3 Mail Send API
 * (SENDGRID_API_KEY). One attempt per call, classified like a webhook attempt (ok, retry
 * later, or permanent): the delivery log and its backoff (src/util/retry.ts) do the retrying.
 */
export interface Mailer {
  readonly name: 'smtp' | 'sendgrid';
  send(to: string, message: EmailMessage, options: { id: string; timeoutMs: number }): Promise<SendResult>;
  close(): void;
}

export const NO_TRANSPORT_MESSAGE = 'No email transport is configured: set SMTP_URL (smtp://user:pass@host:587) or SENDGRID_API_KEY, then retry the delivery.';

const SMTP_TIMEOUTS = ['connectionTimeout', 'greetingTimeout', 'socketTimeout', 'dnsTimeout'] as const;

/**
 * SMTP_URL with nodemailer's timeouts as query options. In the URL because nodemailer reads
 * only the URL when a configuration object has one (other keys are dropped); an operator's
 * own value in SMTP_URL is kept.
 */
function withTimeouts(url: string, timeoutMs: number): string {
  const u = new URL(url);
  for (const k of SMTP_TIMEOUTS) if (!u.searchParams.has(k)) u.searchParams.set(k, String(timeoutMs));
  return u.toString();
}

function smtpMailer(url: string, from: string): Mailer {
  // nodemailer's own timeouts, not a race around sendMail: a race could report a failure (and
  // the delivery log retry it) while the send went on and the server accepted the mail, which
  // then arrived twice. A timeout in nodemailer closes the connection, so the send either
  // completes or fails. One transport per timeout (the schedulers each use one), made on first use.
  const transports = new Map<number, nodemailer.Transporter>();
  const transportFor = (timeoutMs: number) => {
    let t = transports.get(timeoutMs);
    if (!t) {
      t = nodemailer.createTransport(withTimeouts(url, timeoutMs));
      transports.set(timeoutMs, t);
    }
    return t;
  };
  return {
    name: 'smtp',
    async send(to, m, { id, timeoutMs }) {
      try {
        const info = await transportFor(timeoutMs).sendMail({
          from,
          to,
          subject: m.subject,
          text: m.text,
          html: m.html,
          headers: { 'X-Storecast-Delivery': id },
          attachments: m.attachments.map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType, ...(a.cid ? { cid: a.cid, contentDisposition: 'inline' as const } : {}) })),
        });
        if (info.rejected.length) return { ok: false, status: 550, error: 'SMTP: the recipient was refused', permanent: true };
        return { ok: true, status: 250 };
      } catch (err) {
        const e = err as { responseCode?: number; code?: string; message?: string };
        // 5xx is a refusal that will not change by retrying (bad address, policy); 4xx and network errors heal.
        if (e.responseCode !== undefined) return { ok: false, status: e.responseCode, error: `SMTP ${e.responseCode}`, permanent: e.responseCode >= 500 };
        return { ok: false, status: null, error: `SMTP: ${e.code ?? 'error'}` };
      }
    },
    close: () => {
      for (const t of transports.values()) t.close();
      transports.clear();
    },
  };
}

function sendgridBody(to: string, from: string, m: EmailMessage): string {
  const match = /^(.*)<([^>]+)>\s*$/.exec(from);
  const sender = match ? { email: match[2]!.trim(), name: match[1]!.trim().replace(/^"|"$/g, '') } : { email: from.trim() };
  return JSON.stringify({
    personalizations: [{ to: [{ email: to }] }],
    from: sender,
    subject: m.subject,
    content: [
      { type: 'text/plain', value: m.text },
      { type: 'text/html', value: m.html },
    ],
    attachments: m.attachments.map((a) => ({
      content: Buffer.from(a.content).toString('base64'),
      filename: a.filename,
      type: a.contentType,
      disposition: a.cid ? 'inline' : 'attachment',
      ...(a.cid ? { content_id: a.cid } : {}),
    })),
  });
}

function sendgridMailer(apiKey: string, base: string, from: string, outbound: Pick<Outbound, 'request'>): Mailer {
  return {
    name: 'sendgrid',
    async send(to, m, { id, timeoutMs }) {
      try {
        const res = await outbound.request(`${base}/v3/mail/send`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'x-storecast-delivery': id },
          body: sendgridBody(to, from, m),
          timeoutMs,
        });
        return httpResult(res, 'SendGrid HTTP');
      } catch (err) {
        return { ok: false, status: null, error: `SendGrid: ${describeOutboundError(err)}` };
      }
    },
    close: () => {},
  };
}

/** The configured transport, or undefined (nothing is sent; deliveries say why). SMTP wins when both are set. */
export function createMailer(config: Pick<Config, 'email'>, outbound: Pick<Outbound, 'request'>): Mailer | undefined {
  const { smtpUrl, sendgridApiKey, sendgridApiUrl, from } = config.email;
  if (smtpUrl) return smtpMailer(smtpUrl, from);
  if (sendgridApiKey) return sendgridMailer(sendgridApiKey, sendgridApiUrl, from, outbound);
  return undefined;
}
