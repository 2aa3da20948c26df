import { Auth } from '@vonage/auth';
import { SMS, type SMSFailure, type SMSMessages, TypeEnum } from '@vonage/sms';
import { SegmentedMessage } from 'sms-segments-calculator';
import type { SentMessage, SmsMessage, SmsProvider } from './types.js';
import { ProviderRejected, ProviderUnavailable, RecipientRejected, parseRetryAfter, unreachable } from './types.js';

type Verdict = 'unavailable' | 'recipient' | 'recipient-gone' | 'rejected';

/**
 * The SMS API's per-message `status` codes (https://developer.vonage.com/messaging/sms/guides/troubleshooting-sms).
 * It answers HTTP 200 for most failures, so this table, not the HTTP status, decides the error class.
 */
const statuses: ReadonlyMap<string, Verdict> = new Map([
  ['1', 'unavailable'], // Throttled: faster than the account's limit
  ['2', 'rejected'], // Missing parameters
  ['3', 'rejected'], // Invalid parameters (a bad `to` is refined below)
  ['4', 'rejected'], // Invalid credentials
  ['5', 'unavailable'], // Internal error
  ['6', 'recipient'], // Invalid message: e.g. an unrecognised number prefix
  ['7', 'recipient-gone'], // Number barred: the number is on a blocklist
  ['8', 'rejected'], // Partner account barred
  ['9', 'rejected'], // Partner quota violation: out of credit
  ['10', 'unavailable'], // Too many existing binds
  ['11', 'rejected'], // Account not enabled for HTTP
  ['12', 'rejected'], // Message too long
  ['14', 'rejected'], // Invalid signature
  ['15', 'rejected'], // Invalid sender address
  ['22', 'rejected'], // Invalid network code
  ['23', 'rejected'], // Invalid callback URL
  ['29', 'recipient'], // Non-whitelisted destination (trial accounts)
  ['32', 'rejected'], // Signature and API secret disallowed
  ['33', 'recipient-gone'], // Number de-activated
]);

/**
 * Vonage's SMS API (`POST {restHost}/sms/json`) through Vonage's own SDK (`@vonage/sms`), whose `restHost` option
 * points it at a local server in tests. Non-GSM text is sent as `type: unicode`, else Vonage would replace it.
 */
export function createVonageProvider({
  apiKey,
  apiSecret,
  from,
  baseUrl = 'https://rest.nexmo.com',
  timeoutMs = 10_000,
  name = 'vonage',
}: {
  apiKey: string;
  apiSecret: string;
  /** Sender: a Vonage number (digits, no `+`) or an alphanumeric sender id where the destination allows one. */
  from: string;
  baseUrl?: string;
  timeoutMs?: number;
  name?: string;
}): SmsProvider {
  if (!apiKey || !apiSecret) throw new Error(`${name}: apiKey and apiSecret are required`);
  if (!from) throw new Error(`${name}: from is required`);
  const client = new SMS(new Auth({ apiKey, apiSecret }), { restHost: baseUrl.replace(/\/$/, ''), timeout: timeoutMs });

  return {
    name,
    async send(sms: SmsMessage): Promise<SentMessage> {
      const unicode = new SegmentedMessage(sms.body).encodingName === 'UCS-2';
      let response: SMSMessages;
      try {
        response = await client.send({
          // The SMS API takes international format without the leading '+'.
          to: sms.to.replace(/^\+/, ''),
          from,
          text: sms.body,
          ...(unicode ? { type: TypeEnum.UNICODE } : {}),
          ...(sms.statusCallbackUrl ? { callback: sms.statusCallbackUrl, statusReportReq: true } : {}),
        });
      } catch (error) {
        throw vonageError(name, error);
      }
      // A long text goes out as several parts, each with its own id; the first names the message.
      const messageId = response.messages[0]?.messageId;
      if (!messageId) throw new ProviderUnavailable('accepted without a message-id', { provider: name, code: 'no-id' });
      return { messageId };
    },
  };
}

function vonageError(provider: string, error: unknown) {
  if (isSmsFailure(error)) {
    const failed = error.getFailedMessages()[0];
    const status = failed?.status ?? 'unknown';
    const text = failed?.errorText ?? '';
    const message = `status ${status} ${text}`.trim();
    let verdict = statuses.get(status) ?? 'rejected';
    // Status 3 covers every parameter; only a bad `to` is about the recipient.
    if (status === '3' && /\bto\b/i.test(text)) verdict = 'recipient';
    return fromVerdict(verdict, message, { provider, code: status });
  }
  const response = httpResponse(error);
  if (response) {
    const status = response.status;
    const options = { provider, code: String(status), status };
    if (status === 429 || status >= 500)
      return new ProviderUnavailable(`HTTP ${status}`, {
        ...options,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
    return new ProviderRejected(`HTTP ${status}`, options);
  }
  return unreachable(provider, error);
}

function fromVerdict(verdict: Verdict, message: string, options: { provider: string; code: string }) {
  switch (verdict) {
    case 'unavailable':
      return new ProviderUnavailable(message, options);
    case 'recipient':
      return new RecipientRejected(message, { ...options, registrationGone: false });
    case 'recipient-gone':
      return new RecipientRejected(message, { ...options, registrationGone: true });
    case 'rejected':
      return new ProviderRejected(message, options);
  }
}

function isSmsFailure(error: unknown): error is SMSFailure {
  return error instanceof Error && typeof (error as Partial<SMSFailure>).getFailedMessages === 'function';
}

/** The SDK's `VetchError` for a non-2xx answer carries the fetch response. */
function httpResponse(error: unknown): { status: number; headers: { get(name: string): string | null } } | undefined {
  const response = (error as { response?: unknown } | null)?.response;
  if (response && typeof (response as { status?: unknown }).status === 'number')
    return response as { status: number; headers: { get(name: string): string | null } };
  return undefined;
}
