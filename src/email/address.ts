import { UserError } from '../chat/errors.ts';

/**
 * One address, checked before anything is stored or sent: a plain `local@domain.tld`, no display
 * name, no list, no header-breaking characters (a CR/LF in an address is a header injection).
 */
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function isAddress(text: string): boolean {
  return text.length <= 254 && ADDRESS.test(text);
}

export function checkAddress(raw: string): string {
  const text = raw.trim().replace(/^<?mailto:/i, '').replace(/^<|>$/g, '').replace(/\|.*$/, '');
  if (!isAddress(text)) throw new UserError(`"${text.slice(0, 60)}" is not an email address; give one like ops@example.com.`, { code: 'BAD_ADDRESS' });
  return text.toLowerCase();
}

/** "o…s@example.com": enough to recognise, not to harvest. */
export function maskAddress(address: string): string {
  const [local = '', domain = ''] = address.split('@');
  return `${local.length <= 2 ? local[0] ?? '' : `${local[0]}…${local.at(-1)}`}@${domain}`;
}
