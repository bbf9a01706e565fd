// Where a customer's alert webhook may point (CONTRACT §7): https, or loopback http in sandbox mode,
// and never at an address inside our own network. A host written as an IP literal is judged when
// the URL is saved; a host name is judged at every delivery, on the addresses it resolves to, by
// the lookup the connection itself uses, so the address checked is the address connected to (a
// DNS answer that changes between a check and a connect cannot reach an internal host).
//
// Classification is ipaddr.js's (the library express already uses to judge proxy addresses): an
// address may be called only when it is ordinary global unicast. Private, loopback (outside
// sandbox mode), link-local (169.254.169.254, the cloud metadata address, is one), unique-local
// (fd00:ec2::254 is one), unspecified (0.0.0.0/8, ::) are refused as the contract says, and so is
// every other range ipaddr.js names as not global: carrier-grade NAT, broadcast, multicast,
// reserved and documentation ranges, and the IPv6 forms that carry an IPv4 address to a
// translator (NAT64 64:ff9b::/96, 6to4, Teredo, SIIT). An IPv4-mapped IPv6 address
// (::ffff:10.0.0.5) is judged as the IPv4 address it is; a deprecated IPv4-compatible one
// (::10.0.0.5) is refused outright.
import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface AddressPolicy {
  /** Loopback addresses allowed (sandbox mode: the simulator and test receivers). */
  loopback: boolean;
  /** Only loopback addresses allowed (plain http, which sandbox mode allows on loopback alone). */
  loopbackOnly?: boolean;
}

export const WEBHOOK_URL_RULE = 'must be an https URL (or loopback http in sandbox mode)';

/** The name of the range that refuses this address, or null when it may be called. */
export function refusedRange(address: string, policy: AddressPolicy): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return 'unparseable';
  }
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
    else if (v6.range() === 'unicast' && v6.parts.slice(0, 6).every((p) => p === 0)) return 'ipv4Compatible';
  }
  const range = ip.range();
  if (policy.loopbackOnly) return range === 'loopback' ? null : `${range} (plain http goes to loopback only)`;
  if (range === 'unicast') return null;
  if (range === 'loopback' && policy.loopback) return null;
  return range;
}

/** The IP address a URL's hostname is written as, or null for a host name. The WHATWG parser has
 *  already rewritten every IPv4 spelling (0x7f.1, 2130706433, 017700000001, 127.1) as a dotted quad
 *  and put IPv6 in brackets, so these two forms are the only literals there are. */
export function hostLiteral(hostname: string): string | null {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  return isIP(hostname) === 4 ? hostname : null;
}

const LOOPBACK_NAMES = new Set(['localhost']);

/** What is wrong with a webhook URL as saved (null: nothing). Host names are not resolved here. */
export function webhookUrlProblem(raw: string, sandbox: boolean): string | null {
  // The parser would strip or encode these, but the URL is stored as written (and Postgres
  // refuses a NUL in text): refused here with a clear message, before any SQL.
  if (/[\u0000-\u001f\u007f]/u.test(raw)) return 'must not contain control characters';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  const literal = hostLiteral(url.hostname);
  if (url.protocol === 'http:') {
    const loopbackHost = literal !== null ? refusedRange(literal, { loopback: true, loopbackOnly: true }) === null : LOOPBACK_NAMES.has(url.hostname);
    return sandbox && loopbackHost ? null : WEBHOOK_URL_RULE;
  }
  if (url.protocol !== 'https:') return WEBHOOK_URL_RULE;
  if (literal === null) return null;
  const range = refusedRange(literal, { loopback: sandbox });
  return range === null ? null : `must not point at a private or reserved address (${url.hostname} is ${describeRange(range)})`;
}

function describeRange(range: string): string {
  const names: Record<string, string> = {
    private: 'private',
    loopback: 'loopback',
    linkLocal: 'link-local',
    uniqueLocal: 'unique-local',
    unspecified: 'unspecified',
    carrierGradeNat: 'carrier-grade NAT',
    ipv4Compatible: 'IPv4-compatible IPv6',
    rfc6052: 'NAT64',
    rfc6145: 'SIIT-translated',
    teredo: 'Teredo',
  };
  return `${names[range] ?? range} address space`;
}

/** Resolves a host name to every address it has (dns.lookup, as a connection would). */
export type Resolver = (hostname: string, family: number) => Promise<LookupAddress[]>;
export const systemResolver: Resolver = (hostname, family) => dns.lookup(hostname, { all: true, family });

/** A delivery refused because of where it would go; no connection was made. */
export class RefusedAddressError extends Error {
  override name = 'RefusedAddressError';
  readonly code = 'EREFUSEDADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(`webhook host ${host} resolves to ${address}, a refused address (${range})`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http(s).request / net.connect that resolves with `resolve`, refuses the whole
 *  answer if any address in it is refused, and hands the connection only addresses it checked. */
export function guardedLookup(policy: AddressPolicy, resolve: Resolver = systemResolver) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const family = typeof options.family === 'number' ? options.family : 0;
    resolve(hostname, family).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`webhook host ${hostname} has no address`), { code: 'ENOTFOUND' }), '');
          return;
        }
        for (const a of addresses) {
          const range = refusedRange(a.address, policy);
          if (range !== null) {
            callback(new RefusedAddressError(hostname, a.address, range), '');
            return;
          }
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
