import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { Channel } from './domain.js';
import { parseKeyList } from './secrets.js';

/**
 * What a recipient's link acts on: one user, on one channel, for one flow (or every flow, `null`) and one status
 * (or both). A one-click unsubscribe turns exactly this off.
 */
export interface LinkScope {
  userId: string;
  channel: Channel;
  flowId: string | null;
  status: 'success' | 'failure' | 'both';
}

/**
 * Signs and checks recipients' links without a database: the token itself names its scope. Two kinds, each refused
 * where the other is expected: one-click unsubscribe tokens (a {@link LinkScope}) and preference-page tokens (a user).
 */
export interface LinkSigner {
  /** A one-click unsubscribe token for `scope`, valid for the signer's lifetime from `now`. */
  sign(scope: LinkScope, now?: Date): Promise<string>;
  /** The scope a one-click token names, or {@link InvalidLink} saying why not (expired, forged, unknown key, not ours). */
  verify(token: string, now?: Date): Promise<LinkScope>;
  /** A token for the preference page of user `userId`: everything of theirs, nothing of anyone else's. */
  signPreferences(userId: string, now?: Date): Promise<string>;
  /** The user a preference-page token names, or {@link InvalidLink} as for {@link verify}. */
  verifyPreferences(token: string, now?: Date): Promise<string>;
  /**
   * The token a preference page's form carries, bound to the link token the page was opened with (an HMAC under a
   * key derived from the signing key, named by its id), so a POST must come from a page Orderly served for that link.
   */
  formToken(linkToken: string): string;
  /** Whether `formToken` is the form token of `linkToken` under any listed key. */
  checkFormToken(linkToken: string, formToken: string): boolean;
}

/** A token that is no (longer a) valid link. `expired` tells a person to use a newer mail; the rest is `invalid`. */
export class InvalidLink extends Error {
  constructor(
    readonly why: 'expired' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'InvalidLink';
  }
}

/**
 * Tokens are JWTs for these purposes only, so no other JWT signed with the same key is ever taken for a link, and
 * the audience tells the two kinds apart (a one-click token opens no preference page, and the reverse).
 */
const audiences = { oneClick: 'orderly:recipient-link', preferences: 'orderly:recipient-preferences' } as const;
const channels: readonly Channel[] = ['email', 'webhook', 'sms', 'push'];
const statuses: readonly LinkScope['status'][] = ['success', 'failure', 'both'];
/** Used only outside production when no key is configured (`loadConfig` refuses that in production). */
const developmentKey = {
  id: 'development',
  key: createHash('sha256').update('orderly development link signing key').digest(),
};

/**
 * Parses `LINK_SIGNING_KEYS` (`<key id>:<base64 of 32 bytes>`, comma-separated; empty means the development key):
 * the first key signs, every listed key verifies, so keys rotate by putting a new one first and dropping the old
 * one once its links have expired. Tokens are HS256 JWTs whose `kid` header names the key; they expire after
 * `ttlDays` (default 60).
 */
export function createLinkSigner(spec: string, { ttlDays = 60 }: { ttlDays?: number } = {}): LinkSigner {
  const keys = parseKeyList('LINK_SIGNING_KEYS', spec, developmentKey);
  const byId = new Map(keys.map((k) => [k.id, new Uint8Array(k.key)]));
  const current = keys[0]!;
  // Form tokens use a key of their own, derived from each signing key, so no HMAC of one kind is valid as the other.
  const formKeys = new Map(keys.map((k) => [k.id, createHmac('sha256', k.key).update('orderly:form-token').digest()]));
  const formMac = (keyId: string, linkToken: string) =>
    createHmac('sha256', formKeys.get(keyId)!).update(linkToken).digest('base64url');

  const signFor = (aud: string, claims: Record<string, unknown>, subject: string, now: Date) => {
    const issuedAt = Math.floor(now.getTime() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: current.id })
      .setSubject(subject)
      .setAudience(aud)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ttlDays * 24 * 3600)
      .sign(new Uint8Array(current.key));
  };
  const verifyFor = async (aud: string, token: string, now: Date) => {
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          const key = byId.get(header.kid ?? '');
          if (key === undefined) throw new InvalidLink('invalid', `the link is signed with an unknown key`);
          return key;
        },
        { algorithms: ['HS256'], audience: aud, currentDate: now, requiredClaims: ['sub', 'exp'] },
      );
      return payload;
    } catch (error) {
      if (error instanceof InvalidLink) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new InvalidLink('expired', 'the link has expired');
      throw new InvalidLink('invalid', 'the link is not valid (damaged or not issued by Orderly)');
    }
  };

  return {
    sign: (scope, now = new Date()) =>
      signFor(audiences.oneClick, { ch: scope.channel, flow: scope.flowId, st: scope.status }, scope.userId, now),
    verify: async (token, now = new Date()) => scopeOf(await verifyFor(audiences.oneClick, token, now)),
    signPreferences: (userId, now = new Date()) => signFor(audiences.preferences, {}, userId, now),
    async verifyPreferences(token, now = new Date()) {
      const { sub } = await verifyFor(audiences.preferences, token, now);
      if (typeof sub !== 'string' || !/^\d+$/.test(sub))
        throw new InvalidLink('invalid', 'the link does not name a recipient');
      return sub;
    },
    formToken: (linkToken) => `${current.id}.${formMac(current.id, linkToken)}`,
    checkFormToken(linkToken, formToken) {
      const [keyId = '', mac = ''] = formToken.split('.');
      if (!formKeys.has(keyId)) return false;
      const expected = Buffer.from(formMac(keyId, linkToken));
      const given = Buffer.from(mac);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

function scopeOf(payload: Record<string, unknown>): LinkScope {
  const { sub, ch, flow, st } = payload;
  if (
    typeof sub !== 'string' ||
    !/^\d+$/.test(sub) ||
    !channels.includes(ch as Channel) ||
    !(flow === null || typeof flow === 'string') ||
    !statuses.includes(st as LinkScope['status'])
  )
    throw new InvalidLink('invalid', 'the link does not name a recipient and what to turn off');
  return { userId: sub, channel: ch as Channel, flowId: flow, status: st as LinkScope['status'] };
}

/** The path of the one-click unsubscribe (RFC 8058), under PUBLIC_BASE_URL. */
export const oneClickUnsubscribePath = '/v1/unsubscribe/one-click';

/**
 * The two `List-Unsubscribe` targets of a mail (RFC 2369): the one-click https URL under `publicBaseUrl` and a
 * mailto to `unsubscribe@<its host>` with the token in the subject.
 */
export function unsubscribeTargets(publicBaseUrl: string, token: string): { url: string; mail: string } {
  const base = new URL(publicBaseUrl);
  const url = `${publicBaseUrl.replace(/\/+$/, '')}${oneClickUnsubscribePath}?token=${encodeURIComponent(token)}`;
  return { url, mail: `mailto:unsubscribe@${base.hostname}?subject=unsubscribe-${token}` };
}

/** The path of the recipient's preference page, under PUBLIC_BASE_URL. */
export const preferencesPath = '/v1/preferences';

/** The link to a recipient's preference page that every mail's footer carries. */
export const preferencesUrl = (publicBaseUrl: string, token: string): string =>
  `${publicBaseUrl.replace(/\/+$/, '')}${preferencesPath}?token=${encodeURIComponent(token)}`;
