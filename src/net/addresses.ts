import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses a request to a user-given URL may reach. Ranges come from ipaddr.js's
 * IANA special-purpose tables (RFC 6890 and successors), so there is no CIDR math here:
 * anything it does not call plain `unicast` is internal (loopback, RFC 1918, CGNAT,
 * link-local with the cloud metadata address, unique-local, multicast, reserved, …).
 */
export type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Names of cloud instance-metadata services. They hand out credentials, and some resolve
 * only inside the cloud, so they are refused by name whatever DNS says.
 */
const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
]);

/** "[::1]" -> "::1", "Metadata.Google.Internal." -> "metadata.google.internal". */
export function normalizeHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').replace(/\.+$/, '').toLowerCase();
}

export function isMetadataHost(host: string): boolean {
  return METADATA_HOSTS.has(normalizeHost(host));
}

/** An IP literal, or undefined for a name (strict: "1.2" is a name here, not 1.0.0.2). */
export function parseAddress(host: string): Address | undefined {
  const h = normalizeHost(host);
  return isIP(h) ? ipaddr.parse(h) : undefined;
}

const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);

/**
 * The IPv4 address an IPv6 address carries and is routed to: mapped (::ffff:a.b.c.d),
 * SIIT (::ffff:0:a.b.c.d), NAT64 well-known prefix (64:ff9b::/96), 6to4 (2002:AABB:CCDD::)
 * and the deprecated IPv4-compatible form (::a.b.c.d), which ipaddr.js calls unicast.
 */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = ip.parts as number[];
  const range = ip.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145') return v4(p[6]!, p[7]!);
  if (range === 'rfc6052' && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0) return v4(p[6]!, p[7]!);
  if (range === '6to4') return v4(p[1]!, p[2]!);
  if (range === 'unicast' && p.slice(0, 6).every((x) => x === 0)) return v4(p[6]!, p[7]!);
  return undefined;
}

/**
 * Why an address is internal (its range name, e.g. "loopback", "private", "ipv4Mapped of
 * linkLocal"), or undefined for a public address. An IPv6 form of an IPv4 address is judged
 * by the IPv4 address, so ::ffff:7f00:1 is loopback and 64:ff9b::808:808 is public.
 */
export function internalRange(ip: Address): string | undefined {
  if (ip.kind() === 'ipv6') {
    const inner = embeddedIPv4(ip as ipaddr.IPv6);
    if (inner) {
      const why = internalRange(inner);
      const form = (ip as ipaddr.IPv6).range();
      return why && `${form === 'unicast' ? 'ipv4Compatible' : form} of ${why}`;
    }
  }
  const range = ip.range();
  return range === 'unicast' ? undefined : range;
}

/** STORECAST_OUTBOUND_ALLOW, parsed: networks and host names an operator lets through. */
export interface AllowList {
  networks: [Address, number][];
  hosts: Set<string>;
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** One entry: "10.0.0.0/8", "127.0.0.1", "fd00::/8", "hooks.internal.example". */
function parseEntry(entry: string): [Address, number] | string {
  const e = normalizeHost(entry.trim());
  if (e.includes('/')) {
    const [addr, bits] = e.split('/');
    const max = isIP(addr ?? '') === 4 ? 32 : 128;
    if (!isIP(addr ?? '') || !/^\d{1,3}$/.test(bits ?? '') || Number(bits) > max) throw new Error(`"${entry}" is not a network like 10.0.0.0/8`);
    return ipaddr.parseCIDR(e);
  }
  const ip = parseAddress(e);
  if (ip) return [ip, ip.kind() === 'ipv4' ? 32 : 128];
  if (!HOSTNAME.test(e)) throw new Error(`"${entry}" is neither an address, a network (CIDR) nor a host name`);
  return e;
}

/** Throws an Error naming the first bad entry. */
export function parseAllowList(entries: readonly string[]): AllowList {
  const list: AllowList = { networks: [], hosts: new Set() };
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if (typeof parsed === 'string') list.hosts.add(parsed);
    else list.networks.push(parsed);
  }
  return list;
}

export function allowsHost(list: AllowList, host: string): boolean {
  return list.hosts.has(normalizeHost(host));
}

/** True if the address, or the IPv4 address it carries, is in an allowed network. */
export function allowsAddress(list: AllowList, ip: Address): boolean {
  const forms: Address[] = [ip];
  if (ip.kind() === 'ipv6') {
    const inner = embeddedIPv4(ip as ipaddr.IPv6);
    if (inner) forms.push(inner);
  }
  return forms.some((a) => list.networks.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits)));
}
