import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { z } from 'zod';
import type { WebPushSubscription } from './types.js';

/** A contact address a user gave us is unusable; `field` says which one, the message says why. */
export class InvalidContact extends Error {
  constructor(
    readonly field: 'phone' | 'web-push subscription' | 'fcm token',
    reason: string,
  ) {
    super(`invalid ${field}: ${reason}`);
    this.name = 'InvalidContact';
  }
}

/**
 * A phone number in E.164 (`+447700900123`), or {@link InvalidContact}. Uses libphonenumber-js's full metadata so
 * a number is checked against its country's numbering plan, not only its length. National formats need
 * `defaultCountry`; without it only international input (`+...`) is accepted, because guessing the country of
 * `07700 900123` sends someone else's text.
 */
export function parsePhoneNumber(input: string, defaultCountry?: CountryCode): string {
  const phone = parsePhoneNumberFromString(input.trim(), defaultCountry ? { defaultCountry } : undefined);
  if (!phone) {
    throw new InvalidContact(
      'phone',
      defaultCountry
        ? `"${input}" is not a phone number`
        : `"${input}" is not an international number (+ and country code)`,
    );
  }
  if (!phone.isValid())
    throw new InvalidContact(
      'phone',
      `"${input}" is not a valid number in ${phone.country ?? `+${phone.countryCallingCode}`}`,
    );
  return phone.number;
}

/** base64url of exactly `bytes` bytes, as browsers encode `PushSubscription` keys (padding tolerated). */
function base64urlOf(bytes: number, what: string) {
  return z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `${what} must be base64url`)
    .refine((value) => Buffer.from(value, 'base64url').length === bytes, `${what} must decode to ${bytes} bytes`);
}

/** The shape of `PushSubscription.toJSON()` that RFC 8291 encryption needs. */
export const webPushSubscriptionSchema = z.object({
  endpoint: z.url({ protocol: /^https$/, error: 'endpoint must be an https URL (RFC 8030 push services are)' }),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    // An uncompressed P-256 point: 0x04 then 32-byte x and y.
    p256dh: base64urlOf(65, 'keys.p256dh').refine(
      (v) => Buffer.from(v, 'base64url')[0] === 0x04,
      'keys.p256dh must be an uncompressed P-256 point',
    ),
    auth: base64urlOf(16, 'keys.auth'),
  }),
});

/** A browser's subscription (as JSON text or parsed), or {@link InvalidContact} naming the first problem. */
export function parseWebPushSubscription(input: unknown): WebPushSubscription {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw new InvalidContact('web-push subscription', 'not JSON');
    }
  }
  const parsed = webPushSubscriptionSchema.safeParse(value);
  if (!parsed.success) throw new InvalidContact('web-push subscription', parsed.error.issues.map(describe).join('; '));
  return parsed.data;
}

/**
 * An FCM registration token, sanity-checked only: Firebase documents no format (today's are ~150-200 characters of
 * `[A-Za-z0-9_:-]`), so the bounds are wide and FCM's own `UNREGISTERED`/`INVALID_ARGUMENT` remain the real test.
 */
export function parseFcmToken(input: string): string {
  const token = input.trim();
  if (token.length < 32 || token.length > 4096)
    throw new InvalidContact('fcm token', `length ${token.length} is outside 32..4096`);
  if (!/^[A-Za-z0-9_:.-]+$/.test(token))
    throw new InvalidContact('fcm token', 'has characters outside [A-Za-z0-9_:.-]');
  return token;
}

function describe(issue: z.core.$ZodIssue): string {
  return issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}
