import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Who the client is, as Express's `trust proxy` decides it: the socket's peer, unless
 * STORECAST_TRUST_PROXY names the proxies in front of the server. Then X-Forwarded-For is read
 * from the right (the hop the nearest proxy appended) leftwards, past every trusted hop; the
 * first untrusted address is the client. Anything not a valid IP is no address at all, so a
 * header value (`=HYPERLINK(...)`) never reaches the audit log or a rate-limit key.
 *
 *   unset            the socket's peer; X-Forwarded-For is ignored (anyone can send it)
 *   1 (a hop count)  trust that many proxies: 1 = one load balancer in front
 *   10.0.0.0/8,loopback   trust hops from these addresses/networks (loopback, linklocal and
 *                    uniquelocal name their networks, as in Express)
 */
export type TrustProxy = { kind: 'none' } | { kind: 'hops'; hops: number } | { kind: 'networks'; networks: string[] };

/** Express's names for common proxy networks. */
const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** STORECAST_TRUST_PROXY -> TrustProxy; throws naming the bad entry. */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  if (value === undefined || /^(false|0|no)$/i.test(value)) return { kind: 'none' };
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 20) throw new Error('must be a hop count of at most 20, or proxy addresses/networks');
    return { kind: 'hops', hops };
  }
  const networks: string[] = [];
  for (const n of value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const named = NAMED[n];
    if (named) {
      networks.push(...named);
      continue;
    }
    const [addr, bits] = n.split('/');
    const ok = isIP(addr ?? '') && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (isIP(addr!) === 4 ? 32 : 128)));
    if (!ok) throw new Error(`"${n}" is not a hop count, an address, a network (10.0.0.0/8) or one of ${Object.keys(NAMED).join(', ')}`);
    networks.push(bits === undefined ? `${addr}/${isIP(addr!) === 4 ? 32 : 128}` : n);
  }
  return { kind: 'networks', networks };
}

/** A valid IP in its short canonical form (IPv4-mapped IPv6 as IPv4), else undefined. */
export function canonicalIp(text: string | undefined): string | undefined {
  const t = text?.trim().replace(/^\[(.*)\]$/, '$1');
  if (!t || !isIP(t)) return undefined;
  const ip = ipaddr.parse(t);
  return ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address().toString() : ip.toString();
}

function trusts(trust: TrustProxy): (addr: string, hop: number) => boolean {
  if (trust.kind === 'none') return () => false;
  if (trust.kind === 'hops') return (_, hop) => hop < trust.hops;
  const cidrs = trust.networks.map((n) => ipaddr.parseCIDR(n));
  return (addr) => {
    const canonical = canonicalIp(addr);
    if (!canonical) return false;
    const ip = ipaddr.parse(canonical);
    return cidrs.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
  };
}

/** The client's address (a valid IP) from the socket's peer and X-Forwarded-For, per `trust`. */
export function clientAddress(socket: string | undefined, forwardedFor: string | undefined, trust: TrustProxy): string | undefined {
  const hops = trust.kind === 'none' || !forwardedFor ? [] : forwardedFor.split(',').map((s) => s.trim()).reverse();
  const chain = [socket ?? '', ...hops];
  const trusted = trusts(trust);
  let i = 0;
  while (i < chain.length - 1 && trusted(chain[i]!, i)) i++;
  return canonicalIp(chain[i]);
}
