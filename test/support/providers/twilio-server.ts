import { randomBytes } from 'node:crypto';
import { type TwilioErrorBody, type TwilioMessageStatus, twilioSignature } from '../../../src/providers/twilio.js';
import {
  type Fault,
  type LocalServer,
  type RawRequest,
  type Reply,
  basicAuth,
  startLocalServer,
} from './local-server.js';

/** One `POST .../Messages.json` as the local Twilio received it. */
export interface TwilioRequest {
  /** Basic auth matched the account. */
  authenticated: boolean;
  to?: string;
  from?: string;
  messagingServiceSid?: string;
  body?: string;
  statusCallback?: string;
  /** The sid it answered with, when it accepted the message. */
  sid?: string;
}

/** A Twilio failure by its documented error code, or any HTTP answer, or no answer. */
export type TwilioFault =
  { twilioCode: 21211 | 21610 | 21614 | 21606 | 20003 | 20429 | 20500 | 20503; retryAfterSeconds?: number } | Fault;

export interface TwilioServer extends Omit<LocalServer<TwilioRequest>, 'failWith'> {
  /** Pass as the provider's `baseUrl`. */
  url: string;
  accountSid: string;
  authToken: string;
  failWith(fault: TwilioFault | null, options?: { times?: number }): void;
  /**
   * POSTs a status callback for an accepted message to its `StatusCallback`, signed with `X-Twilio-Signature`
   * exactly as Twilio signs it (or with `signWith`'s token, to forge one); resolves to the receiver's status.
   */
  sendStatusCallback(
    sid: string,
    status: TwilioMessageStatus,
    options?: { errorCode?: string; signWith?: string },
  ): Promise<number>;
}

/** The documented message and HTTP status of each error code the fault injector knows. */
const errorCodes: Record<number, { status: number; message: string }> = {
  20003: { status: 401, message: 'Authenticate' },
  20429: { status: 429, message: 'Too Many Requests' },
  20500: { status: 500, message: 'Internal Server Error' },
  20503: { status: 503, message: 'Service Unavailable' },
  21211: { status: 400, message: "Invalid 'To' Phone Number" },
  21606: {
    status: 400,
    message:
      "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account",
  },
  21610: { status: 400, message: 'Attempt to send to unsubscribed recipient' },
  21614: { status: 400, message: "'To' number is not a valid mobile number" },
};

/** Twilio's error body for `code`, as `https://api.twilio.com` answers it. */
export function twilioError(code: number, message = errorCodes[code]?.message ?? 'Error'): Reply {
  const status = errorCodes[code]?.status ?? 400;
  const json: TwilioErrorBody = { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
  return { status, json };
}

/**
 * A local Twilio Programmable Messaging API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, Basic auth
 * with the account sid and auth token, a form body with `To` (E.164), `From` or `MessagingServiceSid`, `Body`
 * (1600 characters at most) and optional `StatusCallback`; answers 201 with a Message resource (`sid: SM…`) or
 * Twilio's error JSON (`{code, message, more_info, status}`) for each rule broken.
 */
export async function startTwilioServer({
  accountSid = `AC${randomBytes(16).toString('hex')}`,
  authToken = randomBytes(16).toString('hex'),
}: { accountSid?: string; authToken?: string } = {}): Promise<TwilioServer> {
  const local = await startLocalServer<TwilioRequest>((request) => handleMessage(request, accountSid, authToken));
  return {
    ...local,
    url: local.origin,
    accountSid,
    authToken,
    failWith(fault, options) {
      local.failWith(
        fault !== null && typeof fault === 'object' && 'twilioCode' in fault ? codeFault(fault) : fault,
        options,
      );
    },
    async sendStatusCallback(sid, status, { errorCode, signWith = authToken } = {}) {
      const message = local.received.find((r) => r.sid === sid);
      if (!message?.statusCallback) throw new Error(`no accepted message ${sid} with a StatusCallback`);
      const params: Record<string, string> = {
        AccountSid: accountSid,
        ApiVersion: '2010-04-01',
        From: message.from ?? '',
        MessageSid: sid,
        MessageStatus: status,
        SmsSid: sid,
        SmsStatus: status,
        To: message.to ?? '',
        ...(errorCode ? { ErrorCode: errorCode } : {}),
      };
      const response = await fetch(message.statusCallback, {
        method: 'POST',
        headers: { 'x-twilio-signature': twilioSignature(message.statusCallback, params, signWith) },
        body: new URLSearchParams(params),
      });
      return response.status;
    },
  };
}

function codeFault({ twilioCode, retryAfterSeconds }: { twilioCode: number; retryAfterSeconds?: number }): Reply {
  const reply = twilioError(twilioCode);
  return retryAfterSeconds === undefined ? reply : { ...reply, headers: { 'retry-after': String(retryAfterSeconds) } };
}

function handleMessage(request: RawRequest, accountSid: string, authToken: string) {
  const route = 'send';
  const auth = basicAuth(request.headers.authorization);
  const authenticated = auth?.user === accountSid && auth.password === authToken;
  const form = Object.fromEntries(new URLSearchParams(request.body.toString('utf8')));
  const record: TwilioRequest = {
    authenticated,
    to: form.To,
    from: form.From,
    messagingServiceSid: form.MessagingServiceSid,
    body: form.Body,
    statusCallback: form.StatusCallback,
  };
  const reject = (reply: Reply) => ({ route, record, reply });
  const path = new URL(request.url, 'http://local').pathname;
  if (request.method !== 'POST' || path !== `/2010-04-01/Accounts/${accountSid}/Messages.json`)
    return reject({ ...twilioError(20404, 'The requested resource was not found'), status: 404 });
  if (!authenticated) return reject(twilioError(20003));
  if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
    return reject(twilioError(21602, 'Message body is required.'));
  if (!form.To) return reject(twilioError(21604, "A 'To' phone number is required."));
  if (!/^\+[1-9]\d{6,14}$/.test(form.To))
    return reject(twilioError(21211, `The 'To' number ${form.To} is not a valid phone number.`));
  if (!form.From && !form.MessagingServiceSid) return reject(twilioError(21603, "A 'From' phone number is required."));
  if (!form.Body) return reject(twilioError(21602, 'Message body is required.'));
  if (form.Body.length > 1600)
    return reject(twilioError(21617, 'The concatenated message body exceeds the 1600 character limit.'));
  if (form.StatusCallback && !URL.canParse(form.StatusCallback))
    return reject(twilioError(21609, 'Invalid StatusCallback url'));
  record.sid = `SM${randomBytes(16).toString('hex')}`;
  return { route, record, reply: { status: 201, json: messageResource(record, accountSid) } };
}

/** The Message resource Twilio answers a create with, trimmed to the fields clients read. */
function messageResource(record: TwilioRequest, accountSid: string) {
  const now = new Date().toUTCString().replace('GMT', '+0000');
  return {
    sid: record.sid,
    account_sid: accountSid,
    messaging_service_sid: record.messagingServiceSid ?? null,
    to: record.to,
    from: record.from ?? null,
    body: record.body,
    status: record.messagingServiceSid ? 'accepted' : 'queued',
    direction: 'outbound-api',
    api_version: '2010-04-01',
    date_created: now,
    date_updated: now,
    date_sent: null,
    error_code: null,
    error_message: null,
    uri: `/2010-04-01/Accounts/${accountSid}/Messages/${record.sid}.json`,
  };
}
