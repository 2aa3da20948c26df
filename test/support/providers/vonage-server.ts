import { randomBytes } from 'node:crypto';
import { SegmentedMessage } from 'sms-segments-calculator';
import {
  type Fault,
  type LocalServer,
  type RawRequest,
  type Reply,
  basicAuth,
  formOrJson,
  startLocalServer,
} from './local-server.js';

/** One `POST /sms/json` as the local Vonage received it. */
export interface VonageRequest {
  authenticated: boolean;
  from?: string;
  to?: string;
  text?: string;
  type?: string;
  callback?: string;
  /** The message-ids it answered with (one per part of a long text). */
  messageIds: string[];
}

/** A Vonage per-message status (answered with HTTP 200, as Vonage does), or any HTTP answer, or none. */
export type VonageFault = { vonageStatus: string; errorText?: string } | Fault;

export interface VonageServer extends Omit<LocalServer<VonageRequest>, 'failWith'> {
  /** Pass as the provider's `baseUrl`. */
  url: string;
  apiKey: string;
  apiSecret: string;
  failWith(fault: VonageFault | null, options?: { times?: number }): void;
}

/**
 * A local Vonage SMS API: `POST /sms/json` with the credentials as Basic auth or `api_key`/`api_secret`
 * parameters, a JSON or form body with `from`, `to` (international digits, no `+`) and `text`; answers HTTP 200
 * with `{ "message-count", messages: [{ status, "message-id" | "error-text", ... }] }`, one entry per part of a
 * long text, and a non-zero `status` for each rule broken, as the real API does.
 */
export async function startVonageServer({
  apiKey = randomBytes(4).toString('hex'),
  apiSecret = randomBytes(8).toString('hex'),
}: { apiKey?: string; apiSecret?: string } = {}): Promise<VonageServer> {
  const local = await startLocalServer<VonageRequest>((request) => handleSms(request, apiKey, apiSecret));
  return {
    ...local,
    url: local.origin,
    apiKey,
    apiSecret,
    failWith(fault, options) {
      local.failWith(
        fault !== null && typeof fault === 'object' && 'vonageStatus' in fault
          ? statusReply(fault.vonageStatus, fault.errorText ?? 'Injected failure')
          : fault,
        options,
      );
    },
  };
}

/** Vonage's answer for a message it refused: still HTTP 200, the verdict is in `status`. */
export function statusReply(status: string, errorText: string): Reply {
  return { status: 200, json: { 'message-count': '1', messages: [{ status, 'error-text': errorText }] } };
}

function handleSms(request: RawRequest, apiKey: string, apiSecret: string) {
  const route = 'send';
  const params = formOrJson(request);
  const basic = basicAuth(request.headers.authorization);
  const authenticated =
    (basic?.user === apiKey && basic.password === apiSecret) ||
    (params.api_key === apiKey && params.api_secret === apiSecret);
  const record: VonageRequest = {
    authenticated,
    from: params.from,
    to: params.to,
    text: params.text,
    type: params.type,
    callback: params.callback,
    messageIds: [],
  };
  const refuse = (status: string, text: string) => ({ route, record, reply: statusReply(status, text) });
  if (request.method !== 'POST' || new URL(request.url, 'http://local').pathname !== '/sms/json')
    return { route, record, reply: { status: 404, text: 'Not Found' } };
  if (!params.from || !params.to || !params.text) return refuse('2', 'Missing from, to or text');
  if (!authenticated) return refuse('4', 'Bad Credentials');
  if (!/^[1-9]\d{6,14}$/.test(params.to)) return refuse('3', 'Invalid to address');
  const message = new SegmentedMessage(params.text);
  // Without type=unicode Vonage sends GSM-7 and the characters outside it are lost.
  if (message.encodingName === 'UCS-2' && params.type !== 'unicode')
    return refuse('3', 'Non-GSM text requires type=unicode');
  record.messageIds = message.segments.map(() => randomBytes(8).toString('hex').toUpperCase());
  const messages = record.messageIds.map((id) => ({
    to: params.to,
    'message-id': id,
    status: '0',
    'remaining-balance': '15.53590000',
    'message-price': '0.03330000',
    network: '23410',
  }));
  return { route, record, reply: { status: 200, json: { 'message-count': String(messages.length), messages } } };
}
