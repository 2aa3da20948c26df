import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { WebhookDestinationForbidden, destinationChecks, guardedLookup } from '../../src/webhook-destination.js';

const strict = destinationChecks({ allowedNetworks: [], requireHttps: false });
const refusal = (check: () => unknown): string | undefined => {
  try {
    check();
    return undefined;
  } catch (error) {
    if (error instanceof WebhookDestinationForbidden) return error.rule;
    throw error;
  }
};

describe('webhook destinations (SSRF)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.3.4', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fd00:ec2::254', 'unique local'],
    ['fc00::1', 'unique local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::10.0.0.5', 'private'],
  ])('refuses %s (%s)', (ip, rule) => {
    expect(refusal(() => strict.checkAddress(ip))).toContain(rule);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111'])('allows the public address %s', (ip) => {
    expect(refusal(() => strict.checkAddress(ip))).toBeUndefined();
  });

  it('refuses IP-address URLs inside the network and schemes other than http and https, before any lookup', () => {
    expect(refusal(() => strict.checkUrl('http://169.254.169.254/latest/meta-data/'))).toContain('link-local');
    expect(refusal(() => strict.checkUrl('http://[::ffff:127.0.0.1]:8083/connectors'))).toContain('loopback');
    expect(refusal(() => strict.checkUrl('ftp://example.com/hook'))).toBe('only http and https are allowed');
    expect(refusal(() => strict.checkUrl('file:///etc/passwd'))).toBe('only http and https are allowed');
    expect(refusal(() => strict.checkUrl('not a url'))).toBe('not a URL');
    // A host name is checked on the addresses it resolves to, when connecting.
    expect(refusal(() => strict.checkUrl('http://localhost:8083/connectors'))).toBeUndefined();
  });

  it('lets an operator allow a range, and require https', () => {
    const local = destinationChecks({ allowedNetworks: ['127.0.0.1/32', 'fd00::/8'], requireHttps: false });
    expect(refusal(() => local.checkAddress('127.0.0.1'))).toBeUndefined();
    expect(refusal(() => local.checkAddress('::ffff:127.0.0.1'))).toBeUndefined();
    expect(refusal(() => local.checkAddress('fd00:ec2::254'))).toBeUndefined();
    expect(refusal(() => local.checkAddress('127.0.0.2'))).toContain('loopback');
    const httpsOnly = destinationChecks({ allowedNetworks: [], requireHttps: true });
    expect(refusal(() => httpsOnly.checkUrl('http://example.com/hook'))).toBe('only https is allowed');
    expect(refusal(() => httpsOnly.checkUrl('https://example.com/hook'))).toBeUndefined();
    expect(() => destinationChecks({ allowedNetworks: ['10.0.0.0/33'], requireHttps: false })).toThrow(
      /not a CIDR range/,
    );
  });
});

describe('the connect-time check (the address actually dialled)', () => {
  const lookupOnce = (lookup: ReturnType<typeof guardedLookup>, host: string) =>
    new Promise<{ error: Error | null; address: unknown }>((resolve) =>
      lookup(host, {}, (error, address) => resolve({ error, address })),
    );

  it('refuses a name whose resolution changed to loopback since it was checked (DNS rebinding)', async () => {
    let lookups = 0;
    const rebinding = (
      _host: string,
      _options: object,
      callback: (error: null, addresses: { address: string; family: number }[]) => void,
    ) => {
      lookups++;
      callback(null, [{ address: lookups === 1 ? '93.184.215.14' : '127.0.0.1', family: 4 }]);
    };
    const lookup = guardedLookup(strict.checkAddress, rebinding);
    expect(await lookupOnce(lookup, 'rebind.example')).toEqual({ error: null, address: '93.184.215.14' });
    const second = await lookupOnce(lookup, 'rebind.example');
    expect(second.error).toBeInstanceOf(WebhookDestinationForbidden);
    expect(second.error?.message).toBe('webhook destination 127.0.0.1 is refused: loopback range');
  });

  it('refuses a host name that resolves to loopback, through the system resolver', async () => {
    const { error } = await lookupOnce(guardedLookup(strict.checkAddress), 'localhost');
    expect(error).toBeInstanceOf(WebhookDestinationForbidden);
  });

  it('refuses every connection an undici agent would open to a refused address, before a request is sent', async () => {
    const requests: string[] = [];
    const server = createServer((request, response) => {
      requests.push(request.url ?? '');
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = new Agent({ connect: { lookup: guardedLookup(strict.checkAddress) } });
    try {
      const port = (server.address() as AddressInfo).port;
      const failure = await request(`http://localhost:${port}/hook`, {
        method: 'POST',
        dispatcher: agent,
        body: '{}',
      }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      expect(requests).toEqual([]);
    } finally {
      await agent.close();
      server.close();
    }
  });
});
