import { createHmac } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { type Dispatcher, errors as httpErrors, request } from 'undici';
import type { OrderEvent, TemplateId } from '../domain.js';
import type { SenderMetrics } from '../metrics.js';
import type { createWebhookMessages } from './ledger.js';
import type { SecretBox } from '../secrets.js';
import { WebhookDestinationForbidden, type destinationChecks, forbiddenCause } from '../webhook-destination.js';

export interface PostWebhookInput {
  endpointId: string;
  /** The Standard Webhooks `webhook-id`: the same on every attempt of one delivery. */
  messageId: string;
  /** The message's content when the caller has it (requests of earlier versions); else read from `webhook_messages`. */
  event?: OrderEvent;
  template?: TemplateId;
}

/** One message to one endpoint, with its content. */
type WebhookMessage = Required<PostWebhookInput>;

/** What one attempt came to; the endpoint workflow decides what happens next. */
export type WebhookAttempt =
  | { kind: 'delivered'; status: number }
  /** Worth another attempt: after `retryAfterMs` when the endpoint said so, else on the retry schedule. */
  | { kind: 'retry'; status?: number; retryAfterMs?: number; countsAsFailure: boolean; message: string }
  /** 410: the endpoint asked never to be called again; it is now disabled. */
  | { kind: 'gone'; status: number; message: string }
  /** Any other 4xx: the endpoint refused this message; resending it will not help. */
  | { kind: 'rejected'; status: number; message: string }
  /** The endpoint is disabled or no longer exists. */
  | { kind: 'disabled'; message: string }
  /** The destination is refused (an internal address, a scheme other than http/https): no request was made. */
  | { kind: 'forbidden'; message: string }
  /** The message's content is no longer stored (erased): no request was made. */
  | { kind: 'missing'; message: string };

interface EndpointRow extends RowDataPacket {
  url: string;
  secret: string;
  /** The secret before the last rotation, while its grace period lasts. */
  previous_secret: string | null;
  enabled: number;
  disabled_reason: string | null;
}

interface WebhookDeps {
  pool: Pool;
  messages: ReturnType<typeof createWebhookMessages>;
  /** Its connections go only where `destinations` allows: see {@link createWebhookAgent}. */
  agent: Dispatcher;
  destinations: ReturnType<typeof destinationChecks>;
  /** Opens the sealed secrets of `webhook_endpoints`. */
  secrets: SecretBox;
  metrics?: SenderMetrics;
}

/**
 * POSTs one order event to a customer's webhook endpoint, signed per Standard Webhooks. Never throws for an
 * HTTP outcome: each attempt's result goes back to the endpoint workflow, which owns retries, the circuit
 * breaker and the rate limit. URL and secret are read here, at send time, so they never enter workflow history.
 */
export function createWebhookActivities({ pool, messages, agent, destinations, secrets, metrics }: WebhookDeps) {
  const endpoints = webhookEndpoints(pool);
  const send = webhookSender({ agent, secrets });

  async function post(input: WebhookMessage): Promise<WebhookAttempt> {
    const endpoint = await endpoints.find(input.endpointId);
    if (endpoint === undefined)
      return { kind: 'disabled', message: `webhook endpoint ${input.endpointId} no longer exists` };
    if (!endpoint.enabled)
      return {
        kind: 'disabled',
        message: `webhook endpoint ${input.endpointId} is disabled (${endpoint.disabled_reason ?? 'by an operator'})`,
      };
    try {
      // IP-address hosts are dialled without a lookup: checked here. Host names: when connecting.
      destinations.checkUrl(endpoint.url);
    } catch (error) {
      if (error instanceof WebhookDestinationForbidden) return { kind: 'forbidden', message: error.message };
      throw error;
    }
    let answer: { status: number; retryAfter: string | undefined };
    try {
      answer = await send(endpoint, input);
    } catch (error) {
      const refused = forbiddenCause(error);
      if (refused !== undefined) return { kind: 'forbidden', message: refused.message };
      return { kind: 'retry', countsAsFailure: true, message: describeTransportError(error) };
    }
    const attempt = classifyResponse(answer.status, answer.retryAfter, Date.now());
    if (attempt.kind === 'gone') await endpoints.disableGone(input.endpointId);
    return attempt;
  }

  return {
    async postWebhook({ event, template, ...ids }: PostWebhookInput): Promise<WebhookAttempt> {
      const content = event && template ? { event, template } : await messages.find(ids.messageId);
      if (content === undefined)
        return { kind: 'missing', message: `webhook message ${ids.messageId} is no longer stored; nothing was sent` };
      const input = { ...ids, ...content };
      // Beats while the POST is in flight: a webhook worker killed mid-request is noticed within the heartbeat
      // timeout, and its endpoint's next attempt goes out then, not after the activity's whole minute.
      const context = Context.current();
      const beating = setInterval(() => context.heartbeat(), 1_000);
      const attempt = await post(input).finally(() => clearInterval(beating));
      metrics?.attempts.inc({
        channel: 'webhook',
        result:
          'status' in attempt && attempt.status !== undefined ? `${attempt.kind} ${attempt.status}` : attempt.kind,
      });
      if (attempt.kind === 'delivered')
        metrics?.latency.observe({ channel: 'webhook' }, (Date.now() - Date.parse(input.event.occurredAt)) / 1000);
      else {
        const { eventId, orderId, customerId } = input.event;
        Context.current().log.warn('webhook not delivered', {
          eventId,
          orderId,
          customerId,
          endpointId: input.endpointId,
          messageId: input.messageId,
          outcome: attempt.kind,
          reason: attempt.message,
        });
      }
      return attempt;
    },
  };
}

/** `webhook_endpoints`, as the sender reads it at send time. */
function webhookEndpoints(pool: Pool) {
  return {
    /** URL, secrets (the previous one while its grace period lasts) and whether the endpoint is enabled. */
    async find(endpointId: string): Promise<EndpointRow | undefined> {
      const [rows] = await pool.execute<EndpointRow[]>(
        `SELECT url, secret, IF(previous_secret_expires_at > CURRENT_TIMESTAMP(6), previous_secret, NULL) AS previous_secret, enabled, disabled_reason
           FROM webhook_endpoints WHERE id = ?`,
        [endpointId],
      );
      return rows[0];
    },

    /** The endpoint answered 410 Gone: it asked never to be called again. */
    async disableGone(endpointId: string): Promise<void> {
      await pool.execute("UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = '410 Gone' WHERE id = ?", [
        endpointId,
      ]);
    },
  };
}

/**
 * The signed POST itself: returns the endpoint's answer (status and Retry-After), throws when there was none
 * (refused connection, timeout, a destination refused at connect time).
 */
function webhookSender({ agent, secrets }: Pick<WebhookDeps, 'agent' | 'secrets'>) {
  return async function send(
    endpoint: Pick<EndpointRow, 'url' | 'secret' | 'previous_secret'>,
    input: WebhookMessage,
  ): Promise<{ status: number; retryAfter: string | undefined }> {
    const body = JSON.stringify(webhookPayload(input.event, input.template));
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await request(endpoint.url, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Orderly-Webhooks/1',
        'webhook-id': input.messageId,
        'webhook-timestamp': String(timestamp),
        // After a rotation, both secrets' signatures (space-separated, as Standard Webhooks specifies).
        'webhook-signature': [endpoint.secret, endpoint.previous_secret]
          .filter((secret): secret is string => secret !== null)
          .map((secret) => signWebhook(secrets.open(secret), input.messageId, timestamp, body))
          .join(' '),
      },
      body,
    });
    const header = response.headers['retry-after'];
    const retryAfter = Array.isArray(header) ? header[0] : header;
    await response.body.dump();
    return { status: response.statusCode, retryAfter };
  };
}

/** The JSON body: Standard Webhooks' recommended `type` / `timestamp` / `data` envelope. */
export function webhookPayload(event: OrderEvent, template: TemplateId) {
  return {
    type: template === 'order-event-succeeded' ? 'order.event.succeeded' : 'order.event.failed',
    timestamp: event.occurredAt,
    data: event,
  };
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed by the secret's bytes (after `whsec_`). */
export function signWebhook(secret: string, messageId: string, timestampS: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${messageId}.${timestampS}.${body}`).digest('base64')}`;
}

/** Maps an HTTP status (and Retry-After) to what happens next. */
export function classifyResponse(status: number, retryAfter: string | undefined, now: number): WebhookAttempt {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status, message: 'the endpoint answered 410 Gone and has been disabled' };
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    return {
      kind: 'retry',
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      // Being told to slow down is not a broken endpoint; an unavailable one is.
      countsAsFailure: status === 503,
      message: `the endpoint answered ${status}${retryAfter === undefined ? '' : ` (Retry-After: ${retryAfter})`}`,
    };
  }
  if (status >= 400 && status < 500)
    return { kind: 'rejected', status, message: `the endpoint refused the message with ${status}` };
  // Redirects are not followed (they could lead inside the network): the endpoint's URL needs fixing.
  if (status >= 300 && status < 400)
    return { kind: 'rejected', status, message: `the endpoint answered ${status}; redirects are not followed` };
  return { kind: 'retry', status, countsAsFailure: true, message: `the endpoint answered ${status}` };
}

/** Retry-After is either delay-seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function describeTransportError(error: unknown): string {
  if (error instanceof httpErrors.ConnectTimeoutError) return 'the endpoint did not accept a connection in time';
  if (error instanceof httpErrors.HeadersTimeoutError || error instanceof httpErrors.BodyTimeoutError)
    return 'the endpoint did not answer in time';
  const { code, message } = error as { code?: string; message?: string };
  return `the request failed: ${code ?? ''} ${message ?? String(error)}`.replace(/\s+/g, ' ').trim();
}
