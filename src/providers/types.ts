/**
 * The provider layer of the SMS and push channels: one small interface per channel, so adding a provider is one
 * file plus configuration, and one error tree that every provider maps its documented failures into. Callers
 * decide retries and failover from the error class alone, never from a provider's own codes.
 */

/** What a provider answered when it accepted a message: its own id, for receipts and support tickets. */
export interface SentMessage {
  messageId: string;
}

/** One text message. `to` is E.164 (see `parsePhoneNumber` in `contacts.ts`); `body` already fits the segment cap. */
export interface SmsMessage {
  to: string;
  body: string;
  /** Where the provider reports delivery (Twilio `StatusCallback`, Vonage `callback`). */
  statusCallbackUrl?: string;
}

/** Sends text messages through one provider (Twilio, Vonage, ...). */
export interface SmsProvider {
  /** Configured name, e.g. `twilio`: it appears on every error and in metrics. */
  readonly name: string;
  /** Resolves once the provider accepted the message; rejects with a {@link ProviderError}. */
  send(sms: SmsMessage): Promise<SentMessage>;
}

/** A browser's `PushSubscription.toJSON()`: the push service endpoint and the keys RFC 8291 encrypts to. */
export interface WebPushSubscription {
  endpoint: string;
  expirationTime?: number | null;
  keys: {
    /** The user agent's P-256 public key, uncompressed point, base64url (65 bytes decoded). */
    p256dh: string;
    /** The 16-byte authentication secret, base64url. */
    auth: string;
  };
}

/** Where one device receives pushes: a Web Push subscription or an FCM registration token. */
export type PushRegistration = { kind: 'web-push'; subscription: WebPushSubscription } | { kind: 'fcm'; token: string };

/** The push technologies a {@link PushProvider} can speak. */
export type PushKind = PushRegistration['kind'];

/** One notification to one device. */
export interface PushMessage<R extends PushRegistration = PushRegistration> {
  registration: R;
  title: string;
  body: string;
  /** String values only (FCM's `data` map allows nothing else); carries e.g. `eventId` and `orderId`. */
  data: Record<string, string>;
  /** How long the push service may hold the message for an offline device; the provider's default when unset. */
  ttlSeconds?: number;
}

/**
 * Sends notifications through one push technology. `send` takes any registration so that providers of both kinds
 * fit one list; each refuses a registration of another kind with {@link ProviderRejected} (a routing bug).
 */
export interface PushProvider {
  readonly name: string;
  /** Which registrations this provider can reach: route each push by `registration.kind`. */
  readonly kind: PushKind;
  /** Resolves once the push service accepted the message; rejects with a {@link ProviderError}. */
  send(push: PushMessage): Promise<SentMessage>;
}

interface ProviderErrorOptions {
  /** The provider's configured name. */
  provider: string;
  /** The provider's own code (`21211`, `UNREGISTERED`, `410`, Vonage status `7`, ...). */
  code: string;
  /** The HTTP status the provider answered, when it answered at all. */
  status?: number;
  cause?: unknown;
}

/** Base of the tree: what every provider failure carries. `retriable` is the one flag callers branch on. */
export abstract class ProviderError extends Error {
  readonly provider: string;
  readonly code: string;
  readonly status?: number;
  abstract readonly retriable: boolean;

  constructor(message: string, { provider, code, status, cause }: ProviderErrorOptions) {
    super(`${provider}: ${message}`, { cause });
    this.provider = provider;
    this.code = code;
    this.status = status;
  }
}

/**
 * The provider could not take the message now (5xx, 429, timeout, connection refused); the same request may pass
 * later or at the channel's fallback provider. After a timeout the provider may still have accepted the message,
 * so a retry can duplicate it: none of these APIs takes an idempotency key.
 */
export class ProviderUnavailable extends ProviderError {
  readonly retriable = true;
  /** The provider's `Retry-After` (429, 503), in milliseconds: advice for the retry policy to bound, not obey blindly. */
  readonly retryAfterMs?: number;

  constructor(message: string, options: ProviderErrorOptions & { retryAfterMs?: number }) {
    super(message, options);
    this.name = 'ProviderUnavailable';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The recipient cannot receive this (invalid or unsubscribed number, expired subscription, unregistered token).
 * Never retried and never failed over: another provider would reach the same dead address.
 */
export class RecipientRejected extends ProviderError {
  readonly retriable = false;
  /** The address is gone for good (push subscription expired, token unregistered, number opted out): remove it. */
  readonly registrationGone: boolean;

  constructor(message: string, options: ProviderErrorOptions & { registrationGone: boolean }) {
    super(message, options);
    this.name = 'RecipientRejected';
    this.registrationGone = options.registrationGone;
  }
}

/** The provider refused our request itself (bad credentials, bad sender, malformed request): permanent until fixed. */
export class ProviderRejected extends ProviderError {
  readonly retriable = false;

  constructor(message: string, options: ProviderErrorOptions) {
    super(message, options);
    this.name = 'ProviderRejected';
  }
}

/** Narrows `push` to the registration kind a provider speaks; any other kind is a routing bug, refused as such. */
export function registrationOf<K extends PushKind>(
  provider: string,
  kind: K,
  push: PushMessage,
): PushMessage<Extract<PushRegistration, { kind: K }>> {
  if (push.registration.kind !== kind)
    throw new ProviderRejected(`cannot send to a ${push.registration.kind} registration`, {
      provider,
      code: 'wrong-registration-kind',
    });
  return push as PushMessage<Extract<PushRegistration, { kind: K }>>;
}

/**
 * A `Retry-After` header (delay-seconds or HTTP-date, RFC 9110 §10.2.3) in milliseconds; undefined when absent or
 * unreadable, so a garbled header falls back to the retry policy instead of a zero wait.
 */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Maps a failure to reach the provider at all (timeout, refused or reset connection, DNS) to
 * {@link ProviderUnavailable}; anything else is a bug of ours and is rethrown as it is.
 */
export function unreachable(provider: string, error: unknown): ProviderUnavailable {
  const networkCode = networkErrorCode(error);
  if (networkCode === undefined) throw error;
  return new ProviderUnavailable(`not reachable (${networkCode})`, { provider, code: networkCode, cause: error });
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function networkErrorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    // AbortSignal.timeout() rejects fetch with a TimeoutError; SDKs that abort on their own timer give AbortError.
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && networkCodes.has(code)) return code;
  }
  return undefined;
}

/** `https://host/base` and `https://host/base/` both take a relative path under `base`. */
export function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** A provider's error body, when it is JSON; providers answer HTML or nothing on some failures. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
