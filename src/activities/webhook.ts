import { createHmac } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { type Dispatcher, errors as httpErrors, request } from 'undici';
import type { EndpointPolicy, OrderEvent, TemplateId, WebhookContent } from '../domain.js';
import type { SenderMetrics } from '../metrics.js';
import type { createWebhookMessages } from './ledger.js';
import type { SecretBox } from '../secrets.js';
import { WebhookDestinationForbidden, type destinationChecks, forbiddenCause } from '../webhook-destination.js';

export interface PostWebhookInput {
  endpointId: string;
  /** The Standard Webhooks `webhook-id`: the same on every attempt of one delivery. */
  messageId: string;
  /**
   * The endpoint's limits: the call takes a token and an in-flight slot shared with its direct attempts, or makes no
   * request (`throttled`). Absent in calls of earlier versions, whose workflow's own limits were the only ones.
   */
  limits?: Pick<EndpointPolicy, 'ratePerSecond' | 'maxInFlight'>;
  /** The message's content when the caller has it (requests of earlier versions); else read from `webhook_messages`. */
  event?: OrderEvent;
  template?: TemplateId;
}

/** One message to one endpoint, with its content. */
interface WebhookMessage {
  endpointId: string;
  messageId: string;
  content: WebhookContent;
}

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
  | { kind: 'missing'; message: string }
  /** The endpoint's rate limit or in-flight cap, shared with its direct attempts, says not now: no request was made. */
  | { kind: 'throttled'; retryAfterMs: number; message: string };

/** What an attempt that was made (or refused for good) came to. */
export type SentAttempt = Exclude<WebhookAttempt, { kind: 'throttled' }>;

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
export function createWebhookActivities({
  messages,
  leaseMs,
  ...deps
}: WebhookDeps & {
  messages: ReturnType<typeof createWebhookMessages>;
  /** How long one call can take at most (connect and response timeouts, and a margin). */
  leaseMs: number;
}) {
  const attempt = webhookAttempts(deps);
  const state = endpointState(deps.pool);
  return {
    async postWebhook({ event, template, limits, ...ids }: PostWebhookInput): Promise<WebhookAttempt> {
      if (limits !== undefined && !(await state.acquire(ids.endpointId, limits, leaseMs, { direct: false }))) {
        const retryAfterMs = await state.standBack(ids.endpointId, limits.ratePerSecond);
        const message = `the endpoint's rate limit or in-flight cap (shared with direct attempts): again in ${retryAfterMs} ms`;
        return { kind: 'throttled', retryAfterMs, message };
      }
      let outcome: SentAttempt | undefined;
      try {
        const content: WebhookContent | undefined =
          event && template ? { event, template } : await messages.find(ids.messageId);
        if (content === undefined)
          return { kind: 'missing', message: `webhook message ${ids.messageId} is no longer stored; nothing was sent` };
        // Beats while the POST is in flight: a webhook worker killed mid-request is noticed within the heartbeat
        // timeout, and its endpoint's next attempt goes out then, not after the activity's whole minute.
        const context = Context.current();
        const beating = setInterval(() => context.heartbeat(), 1_000);
        outcome = await attempt({ ...ids, content }).finally(() => clearInterval(beating));
        return outcome;
      } finally {
        // Not recorded is not worth failing the attempt for (the workflow would send it again).
        if (limits !== undefined)
          await state.release(ids.endpointId, outcome).catch((error: unknown) => unrecorded(ids.endpointId, error));
      }
    },
  };
}

/**
 * A webhook's first attempt made directly, from the notification's own first attempt, when its endpoint is healthy
 * (its last attempt succeeded), under its rate limit and under its in-flight cap, as every worker process sees them
 * in `webhook_endpoint_state`. An attempt with no answer within `timeoutMs` counts as a failure. Returns undefined
 * when no attempt was made; whatever is not delivered goes to the endpoint's workflow, with the same `webhook-id`.
 */
export function createDirectWebhooks({ timeoutMs, ...deps }: WebhookDeps & { timeoutMs: number }) {
  const attempt = webhookAttempts(deps);
  const state = endpointState(deps.pool);
  return {
    async attemptDirect({
      policy,
      ...input
    }: WebhookMessage & { policy: EndpointPolicy }): Promise<SentAttempt | undefined> {
      // Every direct attempt has ended (answered or given up) by then: a worker that dies mid-attempt leaks no slot.
      const leaseMs = timeoutMs + attemptLeaseMarginMs;
      if (!(await state.acquire(input.endpointId, policy, leaseMs, { direct: true }))) return undefined;
      let outcome: SentAttempt | undefined;
      try {
        outcome = await attempt(input, { timeoutMs });
        return outcome;
      } finally {
        await state.release(input.endpointId, outcome).catch((error: unknown) => unrecorded(input.endpointId, error));
      }
    },
  };
}

function unrecorded(endpointId: string, error: unknown): void {
  Context.current().log.warn("could not record an attempt in the endpoint's state", { endpointId, error });
}

/** How long after its time budget an attempt still counts as in flight (its answer being handled). */
export const attemptLeaseMarginMs = 1_000;
/** An attempt refused for want of an in-flight slot asks again after this (slots free as attempts end). */
const slotWaitMs = 100;
/** How long after a refused workflow call's token is due the direct attempts still stand back: its timer and task. */
const workflowHeadStartMs = 1_000;

/** One attempt, with its metrics and, when not delivered, a warning with why. */
function webhookAttempts({ pool, agent, destinations, secrets, metrics }: WebhookDeps) {
  const endpoints = webhookEndpoints(pool);
  const send = webhookSender({ agent, secrets });

  async function post(input: WebhookMessage, budget?: { timeoutMs: number }): Promise<SentAttempt> {
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
      answer = await send(endpoint, input, budget && AbortSignal.timeout(budget.timeoutMs));
    } catch (error) {
      const refused = forbiddenCause(error);
      if (refused !== undefined) return { kind: 'forbidden', message: refused.message };
      const message =
        budget && error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within the direct attempt's ${budget.timeoutMs} ms`
          : describeTransportError(error);
      return { kind: 'retry', countsAsFailure: true, message };
    }
    const attempt = classifyResponse(answer.status, answer.retryAfter, Date.now());
    if (attempt.kind === 'gone') await endpoints.disableGone(input.endpointId);
    return attempt;
  }

  return async function attempt(input: WebhookMessage, budget?: { timeoutMs: number }): Promise<SentAttempt> {
    const outcome = await post(input, budget);
    metrics?.attempts.inc({
      channel: 'webhook',
      result: 'status' in outcome && outcome.status !== undefined ? `${outcome.kind} ${outcome.status}` : outcome.kind,
    });
    if (outcome.kind === 'delivered' && 'event' in input.content)
      metrics?.latency.observe(
        { channel: 'webhook' },
        (Date.now() - Date.parse(input.content.event.occurredAt)) / 1000,
      );
    else if (outcome.kind !== 'delivered') {
      Context.current().log.warn('webhook not delivered', {
        ...idsOf(input.content),
        endpointId: input.endpointId,
        messageId: input.messageId,
        direct: budget !== undefined,
        outcome: outcome.kind,
        reason: outcome.message,
      });
    }
    return outcome;
  };
}

/**
 * SQL for `consecutive_failures` after an attempt, as the circuit breaker reads an attempt: an answer the endpoint
 * chose (delivered, refused, gone) resets it; no answer, a 5xx or a 429 counts; an attempt that made no request
 * (disabled, refused destination, erased message) says nothing about the endpoint.
 */
function consecutiveFailuresAfter(attempt: SentAttempt | undefined): string {
  if (attempt?.kind === 'delivered' || attempt?.kind === 'rejected' || attempt?.kind === 'gone') return '0';
  return attempt?.kind === 'retry' ? 'consecutive_failures + 1' : 'consecutive_failures';
}

/** SQL: the endpoint's tokens now, its bucket refilled at `?` per second up to a burst of `?` (the same rate). */
const refilled = 'LEAST(?, tokens + ? * TIMESTAMPDIFF(MICROSECOND, tokens_at, NOW(3)) / 1000000)';

/**
 * `webhook_endpoint_state`: each endpoint's health, token bucket and direct attempts in flight, updated atomically
 * (one statement each), so that every worker process's direct attempts share one limit.
 */
function endpointState(pool: Pool) {
  /** Endpoints whose row this process knows exists. */
  const known = new Set<string>();
  /** The endpoint's row, with a full bucket, unless it has one. */
  async function ensureRow(endpointId: string, rate: number): Promise<void> {
    if (known.has(endpointId)) return;
    await pool.execute(
      'INSERT IGNORE INTO webhook_endpoint_state (endpoint_id, tokens, tokens_at) VALUES (?, ?, NOW(3))',
      [endpointId, rate],
    );
    known.add(endpointId);
  }
  return {
    /**
     * Takes a token and an in-flight slot for an attempt that may last `leaseMs`; false when the endpoint is at a
     * limit or, for a direct attempt (`direct`), when its last attempt failed or the direct attempts stand back.
     */
    async acquire(
      endpointId: string,
      { ratePerSecond: rate, maxInFlight }: Pick<EndpointPolicy, 'ratePerSecond' | 'maxInFlight'>,
      leaseMs: number,
      { direct }: { direct: boolean },
    ): Promise<boolean> {
      await ensureRow(endpointId, rate);
      // Assignments run left to right, each seeing the ones before: the refill reads tokens_at before it moves, the
      // in-flight count reads in_flight_until before it moves. Once in_flight_until has passed, every attempt counted
      // has ended: a worker that died mid-attempt leaks no slot.
      const [result] = await pool.execute<ResultSetHeader>(
        `UPDATE webhook_endpoint_state
            SET tokens = ${refilled} - 1, tokens_at = NOW(3),
                in_flight = IF(in_flight_until < NOW(3), 0, in_flight) + 1,
                in_flight_until = GREATEST(COALESCE(in_flight_until, NOW(3)), NOW(3) + INTERVAL ? MICROSECOND)
          WHERE endpoint_id = ?
            AND (NOT ? OR (consecutive_failures = 0 AND (direct_paused_until IS NULL OR direct_paused_until < NOW(3))))
            AND (in_flight < ? OR in_flight_until < NOW(3)) AND ${refilled} >= 1`,
        [rate, rate, leaseMs * 1000, endpointId, direct, maxInFlight, rate, rate],
      );
      return result.affectedRows === 1;
    },

    /**
     * After the endpoint workflow's {@link acquire} was refused: the ms until the next token (or a short wait for a
     * slot), and the direct attempts stand back until a little after, so that the workflow's next call gets it.
     */
    async standBack(endpointId: string, rate: number): Promise<number> {
      const [rows] = await pool.execute<RowDataPacket[]>(
        `SELECT ${refilled} AS tokens FROM webhook_endpoint_state WHERE endpoint_id = ?`,
        [rate, rate, endpointId],
      );
      const tokens = Number(rows[0]?.tokens ?? 0);
      const waitMs = tokens >= 1 ? slotWaitMs : Math.ceil(((1 - tokens) * 1000) / rate);
      await pool.execute(
        `UPDATE webhook_endpoint_state
            SET direct_paused_until = GREATEST(COALESCE(direct_paused_until, NOW(3)), NOW(3) + INTERVAL ? MICROSECOND)
          WHERE endpoint_id = ?`,
        [(waitMs + workflowHeadStartMs) * 1000, endpointId],
      );
      return waitMs;
    },

    /** An attempt ended: its slot back, and what it said about the endpoint's health. */
    async release(endpointId: string, attempt: SentAttempt | undefined): Promise<void> {
      await pool.execute(
        `UPDATE webhook_endpoint_state
            SET in_flight = IF(in_flight > 0, in_flight - 1, 0), consecutive_failures = ${consecutiveFailuresAfter(attempt)}
          WHERE endpoint_id = ?`,
        [endpointId],
      );
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
    signal?: AbortSignal,
  ): Promise<{ status: number; retryAfter: string | undefined }> {
    const body = JSON.stringify(webhookPayload(input.content));
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await request(endpoint.url, {
      method: 'POST',
      dispatcher: agent,
      ...(signal ? { signal } : {}),
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

const webhookTypes: Record<TemplateId, string> = {
  'order-event-succeeded': 'order.event.succeeded',
  'order-event-failed': 'order.event.failed',
  'order-completed': 'order.completed',
};

/**
 * The JSON body: Standard Webhooks' recommended `type` / `timestamp` / `data` envelope. A digest is one `order.digest`
 * whose `data.events` are its events' own envelopes, in the order they were collected.
 */
export function webhookPayload(content: WebhookContent) {
  if ('event' in content)
    return { type: webhookTypes[content.template], timestamp: content.event.occurredAt, data: content.event };
  const { digestId, customerId, items } = content.digest;
  return {
    type: 'order.digest',
    timestamp: items.at(-1)?.event.occurredAt ?? new Date().toISOString(),
    data: {
      digestId,
      customerId,
      events: items.map(({ event, template }) => ({
        type: webhookTypes[template],
        timestamp: event.occurredAt,
        data: event,
      })),
    },
  };
}

/** What a log line about a message names: its event and order, or its digest. */
function idsOf(content: WebhookContent) {
  if ('event' in content) {
    const { eventId, orderId, customerId } = content.event;
    return { eventId, orderId, customerId };
  }
  return { digestId: content.digest.digestId, customerId: content.digest.customerId };
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed by the secret's bytes (after `whsec_`). */
export function signWebhook(secret: string, messageId: string, timestampS: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${messageId}.${timestampS}.${body}`).digest('base64')}`;
}

/** Maps an HTTP status (and Retry-After) to what happens next. */
export function classifyResponse(status: number, retryAfter: string | undefined, now: number): SentAttempt {
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
