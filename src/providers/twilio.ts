import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SentMessage, SmsMessage, SmsProvider } from './types.js';
import {
  ProviderRejected,
  ProviderUnavailable,
  RecipientRejected,
  parseRetryAfter,
  parseJson,
  unreachable,
  withSlash,
} from './types.js';

/** Twilio's error body on every 4xx/5xx of the 2010-04-01 API. */
export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

/**
 * Error codes that are about the recipient, not our request (https://www.twilio.com/docs/api/errors): the same
 * number fails at any provider, so these never fail over. `true` marks a number that asked not to be messaged.
 */
const recipientCodes: ReadonlyMap<number, { registrationGone: boolean }> = new Map([
  [21211, { registrationGone: false }], // Invalid 'To' phone number
  [21214, { registrationGone: false }], // 'To' phone number cannot be reached
  [21217, { registrationGone: false }], // Phone number does not appear to be valid
  [21407, { registrationGone: false }], // This phone number type does not support SMS
  [21421, { registrationGone: false }], // PhoneNumber is invalid
  [21612, { registrationGone: false }], // The 'To' phone number is not currently reachable via SMS
  [21614, { registrationGone: false }], // 'To' number is not a valid mobile number
  [21635, { registrationGone: false }], // 'To' number cannot be a landline
  [21610, { registrationGone: true }], // Attempt to send to unsubscribed recipient (the user replied STOP)
]);

/**
 * Twilio Programmable Messaging over its REST API (form-encoded POST, Basic auth). Hand-written rather than the
 * `twilio` SDK: the SDK hard-codes `https://api.twilio.com` (tests and staging could reach a local server only by
 * rewriting its HTTP client's URLs), and this is one request with a small, documented error body.
 */
export function createTwilioProvider({
  accountSid,
  authToken,
  from,
  messagingServiceSid,
  baseUrl = 'https://api.twilio.com',
  timeoutMs = 10_000,
  name = 'twilio',
}: {
  accountSid: string;
  authToken: string;
  /** Sender: one of our Twilio numbers (E.164) or an alphanumeric sender id. Either this or `messagingServiceSid`. */
  from?: string;
  /** A Messaging Service picks the sender from its pool. */
  messagingServiceSid?: string;
  baseUrl?: string;
  /** Whole-request deadline; past it the send counts as {@link ProviderUnavailable}. */
  timeoutMs?: number;
  name?: string;
}): SmsProvider {
  if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid)) throw new Error(`${name}: accountSid must look like AC + 32 hex digits`);
  if (!authToken) throw new Error(`${name}: authToken is required`);
  if (!from === !messagingServiceSid) throw new Error(`${name}: set exactly one of from and messagingServiceSid`);
  const endpoint = new URL(`2010-04-01/Accounts/${accountSid}/Messages.json`, withSlash(baseUrl));
  const authorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;

  return {
    name,
    async send(sms: SmsMessage): Promise<SentMessage> {
      const form = new URLSearchParams({ To: sms.to, Body: sms.body });
      if (from) form.set('From', from);
      if (messagingServiceSid) form.set('MessagingServiceSid', messagingServiceSid);
      if (sms.statusCallbackUrl) form.set('StatusCallback', sms.statusCallbackUrl);
      let response: Response;
      let text: string;
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: { authorization, accept: 'application/json' },
          body: form,
          signal: AbortSignal.timeout(timeoutMs),
        });
        text = await response.text();
      } catch (error) {
        throw unreachable(name, error);
      }
      if (response.ok) {
        const sid = (parseJson(text) as { sid?: unknown } | undefined)?.sid;
        if (typeof sid !== 'string')
          throw new ProviderUnavailable('accepted without a message sid', {
            provider: name,
            code: 'no-sid',
            status: response.status,
          });
        return { messageId: sid };
      }
      throw twilioError(name, response, parseJson(text) as Partial<TwilioErrorBody> | undefined);
    },
  };
}

/** Maps one Twilio error answer to the error tree: by `code` first, by HTTP status when the body is not Twilio's. */
function twilioError(provider: string, response: Response, body: Partial<TwilioErrorBody> | undefined) {
  const status = response.status;
  const code = typeof body?.code === 'number' ? body.code : undefined;
  const message = `${status} ${code ?? ''} ${body?.message ?? response.statusText}`.replace(/\s+/g, ' ').trim();
  const options = { provider, code: String(code ?? status), status };
  if (status === 429 || status >= 500) {
    // 20429 is "never processed and always safe to retry" per Twilio; 5xx may or may not have been.
    return new ProviderUnavailable(message, {
      ...options,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    });
  }
  const recipient = code === undefined ? undefined : recipientCodes.get(code);
  if (recipient) return new RecipientRejected(message, { ...options, ...recipient });
  return new ProviderRejected(message, options);
}

/**
 * Checks Twilio's `X-Twilio-Signature` on a webhook (status callbacks): base64 HMAC-SHA1, keyed by the auth
 * token, of the full URL Twilio called followed by every POST parameter's name and value, sorted by name
 * (https://www.twilio.com/docs/usage/webhooks/webhooks-security). Like Twilio's own `validateRequest`, it accepts
 * the URL with and without an explicit default port, since Twilio signs either form.
 */
export function verifyTwilioSignature(
  url: string,
  params: Record<string, string | string[]>,
  signature: string | undefined,
  authToken: string,
): boolean {
  if (!signature) return false;
  const given = Buffer.from(signature);
  return urlVariants(url).some((candidate) => {
    const expected = Buffer.from(twilioSignature(candidate, params, authToken));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}

/** Computes the signature Twilio would send for `url` and `params`; used by the local Twilio server too. */
export function twilioSignature(url: string, params: Record<string, string | string[]>, authToken: string): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => {
      const value = params[key] ?? '';
      // Repeated parameters sign every value, sorted, each prefixed by the name (as the SDKs do).
      const values = Array.isArray(value) ? [...new Set(value)].sort() : [value];
      return acc + values.map((v) => key + v).join('');
    }, url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

function urlVariants(url: string): string[] {
  const parsed = new URL(url);
  // URL hides a default port (":443" parses to ""), so the explicit form is built by hand.
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  const userinfo = parsed.username ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@` : '';
  const withPort = `${parsed.protocol}//${userinfo}${parsed.hostname}:${port}${parsed.pathname}${parsed.search}${parsed.hash}`;
  parsed.port = '';
  return [url, parsed.toString(), withPort];
}

/** The delivery states Twilio reports in a status callback's `MessageStatus`. */
export type TwilioMessageStatus =
  | 'queued'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'undelivered'
  | 'failed'
  | 'accepted'
  | 'scheduled'
  | 'read'
  | 'canceled';

/** The fields of a status callback that receipts need; call only after {@link verifyTwilioSignature} accepted it. */
export function parseTwilioStatusCallback(params: Record<string, string>): {
  messageId: string;
  status: TwilioMessageStatus;
  errorCode?: string;
} {
  const messageId = params.MessageSid ?? params.SmsSid;
  const status = params.MessageStatus ?? params.SmsStatus;
  if (!messageId || !status) throw new Error('not a Twilio status callback: MessageSid and MessageStatus are required');
  return {
    messageId,
    status: status as TwilioMessageStatus,
    ...(params.ErrorCode ? { errorCode: params.ErrorCode } : {}),
  };
}
