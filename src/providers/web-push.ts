import { randomUUID } from 'node:crypto';
import { Agent } from 'node:https';
import webpush, { type WebPushError } from 'web-push';
import { type destinationChecks, forbiddenCause, guardedLookup } from '../webhook-destination.js';
import type { PushMessage, PushProvider, SentMessage } from './types.js';
import {
  ProviderRejected,
  ProviderUnavailable,
  RecipientRejected,
  parseRetryAfter,
  registrationOf,
  unreachable,
} from './types.js';

/** Our VAPID identity (RFC 8292): the key pair browsers were given as `applicationServerKey`, and a contact. */
export interface VapidDetails {
  /** `mailto:` or `https:` contact the push service can reach us at. */
  subject: string;
  /** Uncompressed P-256 public key, base64url (what `web-push generate-vapid-keys` prints). */
  publicKey: string;
  /** The matching 32-byte private key, base64url. */
  privateKey: string;
}

/**
 * Web Push (RFC 8030) with the payload encrypted per RFC 8291 (aes128gcm) and VAPID (RFC 8292), all done by the
 * `web-push` package. The push service's address comes from each subscription, which a customer registered: like a
 * webhook URL, it may not point inside the network (`destinations`, checked on the URL and on every connection's
 * addresses), and a subscription that does is removed. `ca` lets tests and staging trust a local push service's
 * certificate (web-push speaks HTTPS only).
 */
export function createWebPushProvider({
  vapid,
  timeoutMs = 10_000,
  defaultTtlSeconds = 24 * 3600,
  ca,
  destinations,
  name = 'web-push',
}: {
  vapid: VapidDetails;
  /** Where push services may be: the webhooks' destination policy (WEBHOOK_ALLOWED_NETWORKS). */
  destinations: ReturnType<typeof destinationChecks>;
  /** Socket idle timeout: a push service that stops answering for this long counts as unavailable. */
  timeoutMs?: number;
  /** web-push's own default is four weeks; an order update that old is noise, so a day unless told otherwise. */
  defaultTtlSeconds?: number;
  /** Extra trusted CA certificates (PEM), for a local push service; the system's CAs otherwise. */
  ca?: string | string[];
  name?: string;
}): PushProvider & { kind: 'web-push' } {
  // Validates subject and both keys now, so a bad configuration fails at start rather than on the first send.
  webpush.getVapidHeaders('https://push.example', vapid.subject, vapid.publicKey, vapid.privateKey, 'aes128gcm');
  const agent = new Agent({ keepAlive: true, lookup: guardedLookup(destinations.checkAddress), ...(ca ? { ca } : {}) });

  return {
    name,
    kind: 'web-push',
    async send(message: PushMessage): Promise<SentMessage> {
      const push = registrationOf(name, 'web-push', message);
      const { subscription } = push.registration;
      const payload = JSON.stringify({ title: push.title, body: push.body, data: push.data });
      try {
        // IP-address hosts are dialled without a lookup: checked here. Host names: when connecting.
        destinations.checkUrl(subscription.endpoint);
        const result = await webpush.sendNotification(subscription, payload, {
          vapidDetails: vapid,
          TTL: push.ttlSeconds ?? defaultTtlSeconds,
          contentEncoding: 'aes128gcm',
          timeout: timeoutMs,
          agent,
        });
        // RFC 8030 §5: 201 with the push message resource in Location; some services omit it.
        const location = result.headers.location;
        return { messageId: typeof location === 'string' ? location : `local:${randomUUID()}` };
      } catch (error) {
        throw webPushError(name, error);
      }
    },
  };
}

function webPushError(provider: string, error: unknown) {
  const refused = forbiddenCause(error);
  // A push service inside the network can never be sent to: the registration goes, as an expired one would.
  if (refused !== undefined)
    return new RecipientRejected(refused.message, {
      provider,
      code: 'destination-forbidden',
      registrationGone: true,
      cause: refused,
    });
  if (isWebPushError(error)) {
    const status = error.statusCode;
    const message = `${status} ${error.body || error.message}`.trim();
    const options = { provider, code: String(status), status };
    // RFC 8030 §7.3 / push services: 404 unknown and 410 expired subscriptions are gone for good.
    if (status === 404 || status === 410) return new RecipientRejected(message, { ...options, registrationGone: true });
    if (status === 429 || status >= 500) {
      const retryAfter = error.headers['retry-after'];
      return new ProviderUnavailable(message, { ...options, retryAfterMs: parseRetryAfter(retryAfter) });
    }
    // 400 (bad request), 401/403 (VAPID refused), 413 (payload too large): our request, for every subscription.
    return new ProviderRejected(message, options);
  }
  if (error instanceof Error && error.message === 'Socket timeout') {
    return new ProviderUnavailable('timed out', { provider, code: 'timeout', cause: error });
  }
  // web-push checks the subscription's keys before sending; a malformed subscription can never receive anything.
  if (error instanceof Error && /subscription/i.test(error.message) && !('code' in error)) {
    return new RecipientRejected(error.message, {
      provider,
      code: 'invalid-subscription',
      registrationGone: true,
      cause: error,
    });
  }
  return unreachable(provider, error);
}

function isWebPushError(error: unknown): error is WebPushError {
  return error instanceof webpush.WebPushError;
}
