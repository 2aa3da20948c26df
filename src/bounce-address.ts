import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { parseKeyList } from './secrets.js';

/** The delivery a bounce address names: one email to one user for one notification. */
export interface BounceTarget {
  userId: string;
  /** The first 16 hex digits of the SHA-256 of the notification id (ids run to 160 characters; a local part to 64). */
  notificationHash: string;
}

/** Makes and reads per-delivery envelope senders, `bounce+<token>@<domain>` (VERP). */
export interface BounceAddresses {
  readonly domain: string;
  /** The envelope sender for one delivery. */
  addressFor(notificationId: string, userId: string): string;
  /** The signed token alone (`<userId>.<notification hash>.<mac>`), which each mail also carries in a header. */
  tokenFor(notificationId: string, userId: string): string;
  /** The delivery an address names, or undefined when it is not one of ours (other domain, cut, forged). */
  read(address: string): BounceTarget | undefined;
  /** The delivery a bare token names, or undefined when it does not verify. */
  readToken(token: string): BounceTarget | undefined;
}

/** Used only outside production when no key is configured (`loadConfig` refuses that in production). */
const developmentKey = {
  id: 'development',
  key: createHash('sha256').update('orderly development link signing key').digest(),
};

/** Hex digits of the MAC kept in the token: 48 bits, enough that a forged address is not worth guessing. */
const macLength = 12;

/** The hash of a notification id as a bounce token carries it (and as the listener looks it up). */
export function notificationHashOf(notificationId: string): string {
  return createHash('sha256').update(notificationId).digest('hex').slice(0, 16);
}

/**
 * Bounce addresses signed with `LINK_SIGNING_KEYS` (the first key signs, every key verifies). The token is
 * `<userId>.<notification hash>.<mac>`, lower case only (some servers fold the case of local parts), at most
 * 20 + 1 + 16 + 1 + 12 = 50 characters, so `bounce+<token>` stays within the 64 a local part may have.
 */
export function createBounceAddresses(spec: string, domain: string): BounceAddresses {
  const keys = parseKeyList('LINK_SIGNING_KEYS', spec, developmentKey);
  const macOf = (key: Buffer, body: string) =>
    createHmac('sha256', key).update(`bounce:${body}`).digest('hex').slice(0, macLength);
  const addressPattern = /^bounce\+([^@]+)@(.+)$/;
  const tokenPattern = /^(\d{1,20})\.([0-9a-f]{16})\.([0-9a-f]{12})$/;
  const tokenFor = (notificationId: string, userId: string) => {
    const body = `${userId}.${notificationHashOf(notificationId)}`;
    return `${body}.${macOf(keys[0]!.key, body)}`;
  };
  const readToken = (token: string): BounceTarget | undefined => {
    const match = tokenPattern.exec(token.trim().toLowerCase());
    if (match === null) return undefined;
    const [, userId, notificationHash, mac] = match as unknown as [string, string, string, string];
    const body = `${userId}.${notificationHash}`;
    const genuine = keys.some((k) => timingSafeEqual(Buffer.from(macOf(k.key, body)), Buffer.from(mac)));
    return genuine ? { userId, notificationHash } : undefined;
  };
  return {
    domain,
    tokenFor,
    readToken,
    addressFor: (notificationId, userId) => `bounce+${tokenFor(notificationId, userId)}@${domain}`,
    read(address) {
      const match = addressPattern.exec(address.trim().toLowerCase());
      if (match === null || match[2] !== domain.toLowerCase()) return undefined;
      return readToken(match[1]!);
    },
  };
}
