import type { CommandContext } from '../chat/command.ts';
import { creatorOf } from '../access/delivery.ts';
import { principalKeys } from '../access/principal.ts';
import { UserError } from '../chat/errors.ts';
import { checkAddress, maskAddress } from '../email/address.ts';
import { ALLOW_SETTING, OutboundRefused, type Outbound } from '../net/outbound.ts';
import { MISSING_KEY_MESSAGE } from './crypto.ts';

/**
 * The one target check, wherever a target comes from (chat /subscribe and /alert, the API, the
 * CLI): a URL is checked by its form and by the process's one outbound policy
 * (`outboundPolicy(config)`, STORECAST_OUTBOUND_ALLOW, handed down by services or the CLI), and
 * needs the secret key it is stored under; chat takes no URL at all; an address is checked as one.
 * So the same URL gets the same answer wherever it was typed.
 */
export type TargetKind = 'slack-webhook' | 'discord-webhook' | 'generic' | 'slack-channel' | 'discord-channel' | 'email';
export type WebhookFormat = 'slack' | 'discord' | 'json';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Checks a target URL's form: https, or http on a loopback host (local receivers, tests). Never
 * echoes the URL back in an error (it is a secret).
 */
export function checkTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError('url is not a valid URL.', { code: 'BAD_URL' });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new UserError('url must use https:// (http:// is accepted only for localhost).', { code: 'BAD_URL' });
  }
  if (url.username || url.password) throw new UserError('url must not contain credentials.', { code: 'BAD_URL' });
  return url;
}

/**
 * Refuses a URL that points into the server's own networks (the same guard checks again at
 * every delivery, against the address it connects to).
 */
async function checkTargetAddress(outbound: Pick<Outbound, 'check'>, url: URL): Promise<void> {
  try {
    await outbound.check(url);
  } catch (err) {
    if (!(err instanceof OutboundRefused)) throw err;
    throw new UserError(
      `url points to an internal address (${err.reason}): webhooks are not sent into private, loopback, link-local or cloud metadata networks. ` +
        `If this target is meant to be internal, the operator can allow it with ${ALLOW_SETTING} (comma-separated addresses, networks such as 10.0.0.0/8, or host names).`,
      { code: 'INTERNAL_ADDRESS' },
    );
  }
}

/** Slack and Discord webhooks are recognised by their address; anything else gets signed JSON. */
export function detectFormat(url: URL): WebhookFormat {
  if (url.hostname === 'hooks.slack.com') return 'slack';
  if (/(^|\.)discord(app)?\.com$/.test(url.hostname) && url.pathname.startsWith('/api/webhooks/')) return 'discord';
  return 'json';
}

/** "hooks.slack.com/…a1b2": enough to tell targets apart, useless to an attacker. */
export function urlHint(url: URL): string {
  const tail = url.pathname.replace(/\/$/, '').slice(-4);
  return `${url.host}/…${tail}`;
}

/** A URL target, checked: its form, the outbound policy, then the key it will be stored encrypted under. */
export async function checkUrlTarget(raw: string, outbound: Pick<Outbound, 'check'>, key: Buffer | undefined): Promise<{ url: URL; key: Buffer; hint: string; format: WebhookFormat }> {
  const url = checkTargetUrl(raw);
  await checkTargetAddress(outbound, url);
  if (!key) throw new UserError(MISSING_KEY_MESSAGE, { code: 'NO_SECRET_KEY' });
  return { url, key, hint: urlHint(url), format: detectFormat(url) };
}

/** An email target: not a credential like a webhook URL, so kept as is; shown masked. */
export function checkEmailTarget(address: string): { address: string; hint: string } {
  const checked = checkAddress(address);
  return { address: checked, hint: `email ${maskAddress(checked)}` };
}

/** Chat takes no URL as a target: pasted in a channel, a URL is a leaked credential. */
export function refuseUrlInChat(value: string, where: { api: string; cli: string }): void {
  if (/^<?https?:/i.test(value.trim())) {
    throw new UserError(`Webhook URLs are not taken in chat (a URL posted in a channel is a leaked credential): use POST ${where.api} or \`${where.cli} --url\`.`, { code: 'URL_IN_CHAT' });
  }
}

/** The asker as the creator the delivery decision judges, at creation as at every send. */
export function deliveryCheck(ctx: CommandContext) {
  return { mode: ctx.access.mode, creator: creatorOf(principalKeys(ctx)[0], ctx.access) };
}
