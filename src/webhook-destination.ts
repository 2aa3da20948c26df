import { type LookupAddress, type LookupOptions, lookup as dnsLookup } from 'node:dns';
import ipaddr from 'ipaddr.js';

/**
 * Where webhooks may go. Customers choose webhook URLs, so by default a URL may not point inside the network
 * Orderly runs in (server-side request forgery): only public unicast addresses, by http or https. An operator
 * allows specific internal ranges with `WEBHOOK_ALLOWED_NETWORKS`.
 */
export interface DestinationPolicy {
  /** CIDR ranges allowed even though they are not public (local development, a partner's VPN). */
  allowedNetworks: string[];
  /** Refuse plain http. */
  requireHttps: boolean;
}

/** Why a destination is refused: the rule, and the address or scheme it was refused for. */
export class WebhookDestinationForbidden extends Error {
  constructor(
    readonly rule: string,
    readonly target: string,
  ) {
    super(`webhook destination ${target} is refused: ${rule}`);
    this.name = 'WebhookDestinationForbidden';
  }
}

/** The destination refusal behind a failed request (before it, or when connecting), however it was wrapped. */
export function forbiddenCause(error: unknown): WebhookDestinationForbidden | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if (e instanceof WebhookDestinationForbidden) return e;
  return undefined;
}

/** ipaddr.js range names, as the refusals say them. */
const ruleNames: Record<string, string> = {
  unspecified: 'unspecified address',
  broadcast: 'broadcast address',
  multicast: 'multicast range',
  linkLocal: 'link-local range (includes cloud metadata at 169.254.169.254)',
  loopback: 'loopback range',
  carrierGradeNat: 'carrier-grade NAT range (100.64.0.0/10)',
  private: 'private range (RFC 1918)',
  uniqueLocal: 'IPv6 unique local range (fc00::/7, includes fd00:ec2::254)',
  reserved: 'reserved range',
};

/** The IPv4 address an IPv6 address carries (IPv4-mapped ::ffff:a.b.c.d or IPv4-compatible ::a.b.c.d), if any. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (address.isIPv4MappedAddress()) return address.toIPv4Address();
  const parts = address.parts;
  if (parts.slice(0, 6).every((p) => p === 0) && (parts[6] !== 0 || parts[7]! > 1))
    return ipaddr.fromByteArray(address.toByteArray().slice(12)) as ipaddr.IPv4;
  return undefined;
}

/** Builds the checks for one policy; throws at start-up on a malformed allowed network. */
export function destinationChecks(policy: DestinationPolicy) {
  const allowed = policy.allowedNetworks.map((cidr) => {
    try {
      return ipaddr.parseCIDR(cidr);
    } catch {
      throw new Error(`WEBHOOK_ALLOWED_NETWORKS: "${cidr}" is not a CIDR range (e.g. 127.0.0.1/32 or fd00::/8)`);
    }
  });
  const isAllowed = (address: ipaddr.IPv4 | ipaddr.IPv6) =>
    allowed.some(([network, bits]) => address.kind() === network.kind() && address.match(network, bits));

  /** Throws {@link WebhookDestinationForbidden} unless Orderly may connect to this IP address. */
  function checkAddress(ip: string): void {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      address = ipaddr.process(ip);
    } catch {
      throw new WebhookDestinationForbidden('not an IP address', ip);
    }
    if (isAllowed(address)) return;
    const inner = address.kind() === 'ipv6' ? embeddedIPv4(address as ipaddr.IPv6) : undefined;
    if (inner !== undefined && isAllowed(inner)) return;
    const range = (inner ?? address).range();
    if (range !== 'unicast') throw new WebhookDestinationForbidden(ruleNames[range] ?? `${range} range`, ip);
  }

  /**
   * Checks what can be checked without DNS: the scheme, and the host when it is an IP address (those are dialled
   * without a lookup). Host names are checked on every address they resolve to, when connecting.
   */
  function checkUrl(url: string): URL {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new WebhookDestinationForbidden('not a URL', url);
    }
    if (parsed.protocol !== 'https:' && (policy.requireHttps || parsed.protocol !== 'http:')) {
      throw new WebhookDestinationForbidden(
        policy.requireHttps ? 'only https is allowed' : 'only http and https are allowed',
        parsed.protocol.replace(/:$/, ''),
      );
    }
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    if (ipaddr.isValid(host)) checkAddress(host);
    return parsed;
  }

  /**
   * At registration: the URL, and every address its host resolves to now. A name that does not resolve yet is
   * accepted; like every name, it is checked again on each connection.
   */
  async function checkRegistration(url: string, resolve: Resolve = dnsLookup): Promise<void> {
    const host = checkUrl(url).hostname.replace(/^\[(.*)\]$/, '$1');
    if (ipaddr.isValid(host)) return;
    const addresses = await new Promise<LookupAddress[]>((done) =>
      resolve(host, { all: true }, (error, found) => done(error ? [] : found)),
    );
    for (const { address } of addresses) checkAddress(address);
  }

  return { checkAddress, checkUrl, checkRegistration };
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
type Resolve = (
  hostname: string,
  options: { all: true },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * A `lookup` for the sockets webhooks are sent on (undici passes it to `net.connect`): resolves the host and
 * refuses the connection if any address it resolves to is refused. The check is on the addresses actually
 * dialled, so a name that resolved to a public address when it was registered and resolves to 127.0.0.1 now
 * (DNS rebinding) cannot pass. `resolve` is injectable for tests.
 */
export function guardedLookup(checkAddress: (ip: string) => void, resolve: Resolve = dnsLookup) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      try {
        for (const { address } of addresses) checkAddress(address);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '');
      }
      const wanted =
        options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
      if (options.all) return callback(null, wanted);
      const first = wanted[0];
      if (first === undefined)
        return callback(
          Object.assign(new Error(`no address of family ${String(options.family)} for ${hostname}`), {
            code: 'ENOTFOUND',
          }),
          '',
        );
      callback(null, first.address, first.family);
    });
  };
}
