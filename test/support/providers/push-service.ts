import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { type JWTPayload, importJWK, jwtVerify } from 'jose';
import type { WebPushSubscription } from '../../../src/providers/types.js';
import { type LocalServer, type RawRequest, type Reply, startLocalServer } from './local-server.js';

/** http_ece (the RFC 8188 reference implementation, by its author) ships no types: only what is used here. */
const ece = createRequire(import.meta.url)('http_ece') as {
  decrypt(
    buffer: Buffer,
    params: { version: 'aes128gcm'; privateKey: ReturnType<typeof createECDH>; authSecret: Buffer },
  ): Buffer;
};

/**
 * A self-signed certificate for 127.0.0.1 and localhost (P-256, valid until 2126), made for this test server
 * only: web-push speaks HTTPS only, so the local push service needs one, and clients trust it through `ca`.
 * Not a secret: it guards nothing but loopback test traffic.
 */
export const pushServiceCa = `-----BEGIN CERTIFICATE-----
MIIBujCCAWCgAwIBAgIUR8JNqHposFdSVuOh6CaNYCskzIIwCgYIKoZIzj0EAwIw
JTEjMCEGA1UEAwwab3JkZXJseSBsb2NhbCBwdXNoIHNlcnZpY2UwIBcNMjYxMTIy
MTA0MzU2WhgPMjEyNjEwMjkxMDQzNTZaMCUxIzAhBgNVBAMMGm9yZGVybHkgbG9j
YWwgcHVzaCBzZXJ2aWNlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2HesNT/Z
iOIiM5tbsnAnNbTiwnmag+sQ6phCO0k3/Gh92nsw5dgSAlgGoenFHy3Slo5fWOp+
GDqJWBqQp25CG6NsMGowHQYDVR0OBBYEFEf4FGFB2o92gPpxqFxT6EE78gaBMB8G
A1UdIwQYMBaAFEf4FGFB2o92gPpxqFxT6EE78gaBMBoGA1UdEQQTMBGHBH8AAAGC
CWxvY2FsaG9zdDAMBgNVHRMBAf8EAjAAMAoGCCqGSM49BAMCA0gAMEUCIEjLOqgc
vgjDT2CYegmJZe8YKaDZiAA1Raj+5UmgviDHAiEA9MvqH48VNXOR1HB6eQQH+bqL
jFdnpMU6D/yRyD7G5hs=
-----END CERTIFICATE-----
`;
const pushServiceKey = [
  '-----BEGIN PRIVATE KEY-----',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgr6MrZlFpNe6ubt03',
  'tsQHQDRpNgNL9B4eB4Hy997navGhRANCAATYd6w1P9mI4iIzm1uycCc1tOLCeZqD',
  '6xDqmEI7STf8aH3aezDl2BICWAah6cUfLdKWjl9Y6n4YOolYGpCnbkIb',
  '-----END PRIVATE KEY-----',
  '',
].join('\n');

/** A subscription as a browser would hand it over, plus the private halves only the browser knows. */
export interface BrowserSubscription {
  /** What `PushSubscription.toJSON()` gives: store and send to this. */
  subscription: WebPushSubscription;
  /** The user agent's raw P-256 private key (32 bytes). */
  privateKey: Buffer;
  /** The 16-byte auth secret. */
  authSecret: Buffer;
}

/** One push message as the local push service received it. */
export interface PushRequest {
  /** The `/push/<id>` the message was sent to. */
  subscriptionId: string;
  ttl?: string;
  urgency?: string;
  contentEncoding?: string;
  /** Whether `Authorization: vapid t=…, k=…` verified, with the reason when it did not. */
  vapid: { valid: boolean; reason?: string; subject?: string; publicKey?: string };
  /** The payload decrypted with the subscription's private key and auth secret (RFC 8291). */
  plaintext?: string;
  decryptError?: string;
}

export interface PushService extends LocalServer<PushRequest> {
  /** The certificate to trust (the provider's `ca`). */
  ca: string;
  /**
   * A new subscription, as `pushManager.subscribe()` makes one: endpoint on this service, a fresh P-256 key pair
   * and auth secret. With `applicationServerKey`, pushes must carry that VAPID key (403 otherwise), as browsers
   * bind a subscription to the key it was made with.
   */
  createSubscription(options?: { applicationServerKey?: string }): BrowserSubscription;
  /** The subscription expires: every later push to it is answered 410 Gone. */
  expire(subscription: WebPushSubscription): void;
}

interface Registered {
  keys: BrowserSubscription;
  applicationServerKey?: string;
  expired: boolean;
}

/**
 * A local Web Push service (RFC 8030) over HTTPS that checks what a real one checks (a `TTL` header, VAPID per
 * RFC 8292: ES256 JWT whose `aud` is this origin, `exp` within 24 h, `sub` a mailto: or https: contact, key bound
 * to the subscription), and then does what no real one can: decrypts the aes128gcm body (RFC 8291) with the
 * subscription's private key, so a test sees the plaintext and the encryption is proven, not assumed.
 * Unknown subscriptions get 404 and expired ones 410, as push services answer.
 */
export async function startPushService(): Promise<PushService> {
  const subscriptions = new Map<string, Registered>();
  const local = await startLocalServer<PushRequest>((request, origin) => handlePush(request, origin, subscriptions), {
    tls: { cert: pushServiceCa, key: pushServiceKey },
  });
  return {
    ...local,
    ca: pushServiceCa,
    createSubscription({ applicationServerKey } = {}) {
      const id = randomUUID();
      const ecdh = createECDH('prime256v1');
      const publicKey = ecdh.generateKeys();
      const authSecret = randomBytes(16);
      const keys: BrowserSubscription = {
        subscription: {
          endpoint: `${local.origin}/push/${id}`,
          expirationTime: null,
          keys: { p256dh: publicKey.toString('base64url'), auth: authSecret.toString('base64url') },
        },
        privateKey: ecdh.getPrivateKey(),
        authSecret,
      };
      subscriptions.set(id, { keys, applicationServerKey, expired: false });
      return keys;
    },
    expire(subscription) {
      const registered = subscriptions.get(subscriptionId(subscription.endpoint));
      if (!registered) throw new Error(`unknown subscription ${subscription.endpoint}`);
      registered.expired = true;
    },
  };
}

/** Decrypts an aes128gcm Web Push body the way the browser holding `keys` would. */
export function decryptPushPayload(body: Buffer, keys: Pick<BrowserSubscription, 'privateKey' | 'authSecret'>): string {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(keys.privateKey);
  return ece.decrypt(body, { version: 'aes128gcm', privateKey: ecdh, authSecret: keys.authSecret }).toString('utf8');
}

async function handlePush(request: RawRequest, origin: string, subscriptions: Map<string, Registered>) {
  const id = subscriptionId(request.url);
  const header = (name: string) => request.headers[name] as string | undefined;
  const record: PushRequest = {
    subscriptionId: id,
    ttl: header('ttl'),
    urgency: header('urgency'),
    contentEncoding: header('content-encoding'),
    vapid: await verifyVapid(header('authorization'), origin),
  };
  const done = (reply: Reply) => ({ route: 'push', record, reply });
  const registered = subscriptions.get(id);
  if (request.method !== 'POST' || !registered) return done({ status: 404, text: 'No such subscription' });
  if (registered.expired) return done({ status: 410, text: 'Subscription expired' });
  if (!record.vapid.valid) return done({ status: 401, text: `VAPID: ${record.vapid.reason}` });
  if (registered.applicationServerKey && registered.applicationServerKey !== record.vapid.publicKey)
    return done({ status: 403, text: 'VAPID key does not match the subscription' });
  if (!record.ttl || !/^\d+$/.test(record.ttl))
    return done({ status: 400, text: 'TTL header required (RFC 8030 §5.2)' });
  if (request.body.length > 0) {
    if (record.contentEncoding !== 'aes128gcm')
      return done({ status: 415, text: 'Content-Encoding must be aes128gcm' });
    // RFC 8030 §7.2: push services must accept at least 4096 bytes of payload; more is refused.
    if (request.body.length > 4096) return done({ status: 413, text: 'Payload too large' });
    try {
      record.plaintext = decryptPushPayload(request.body, registered.keys);
    } catch (error) {
      record.decryptError = String(error);
      return done({ status: 400, text: `cannot decrypt: ${record.decryptError}` });
    }
  }
  return done({ status: 201, headers: { location: `${origin}/message/${randomUUID()}`, ttl: record.ttl } });
}

/** Checks `Authorization: vapid t=<JWT>, k=<public key>` (RFC 8292 §3) against this push service's origin. */
async function verifyVapid(authorization: string | undefined, origin: string): Promise<PushRequest['vapid']> {
  const match = /^vapid\s+(.+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return { valid: false, reason: 'no vapid Authorization' };
  const params = Object.fromEntries(
    match[1].split(',').map((part) => {
      const [key = '', ...value] = part.trim().split('=');
      return [key.toLowerCase(), value.join('=')];
    }),
  );
  const token = params.t;
  const publicKey = params.k;
  if (!token || !publicKey) return { valid: false, reason: 'vapid needs t= and k=' };
  const point = Buffer.from(publicKey, 'base64url');
  if (point.length !== 65 || point[0] !== 0x04)
    return { valid: false, reason: 'k is not an uncompressed P-256 key', publicKey };
  try {
    const key = await importJWK(
      {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      'ES256',
    );
    const { payload } = await jwtVerify(token, key, { algorithms: ['ES256'], audience: origin });
    return checkClaims(payload, publicKey);
  } catch (error) {
    return { valid: false, reason: String(error), publicKey };
  }
}

function checkClaims(payload: JWTPayload, publicKey: string): PushRequest['vapid'] {
  const subject = typeof payload.sub === 'string' ? payload.sub : undefined;
  if (payload.exp === undefined) return { valid: false, reason: 'no exp', publicKey };
  if (payload.exp > Date.now() / 1000 + 24 * 3600)
    return { valid: false, reason: 'exp more than 24 h ahead', publicKey };
  if (!subject || !/^(mailto:|https:)/.test(subject))
    return { valid: false, reason: 'sub must be mailto: or https:', publicKey };
  return { valid: true, subject, publicKey };
}

function subscriptionId(url: string): string {
  return /\/push\/([^/?#]+)/.exec(url)?.[1] ?? '';
}
