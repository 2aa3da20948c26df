import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  proxySinks,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { WebhookAttempt } from '../activities/webhook.js';
import { type EndpointPolicy, type OrderEvent, type TemplateId, webhookFailures } from '../domain.js';
import {
  type Circuit,
  type CircuitState,
  type TokenBucket,
  circuitAdmits,
  circuitOnFailure,
  circuitOnStart,
  circuitOnSuccess,
  closedCircuit,
  fullBucket,
  msUntilToken,
  retryDelayMs,
  takeToken,
} from '../webhook-policy.js';
import { webhooks } from './proxies.js';
import type { OrderlySinks } from './sinks.js';

const { metrics } = proxySinks<OrderlySinks>();

/** One delivery of one notification to this endpoint, asked for by a notification workflow. */
export interface WebhookDeliveryRequest {
  messageId: string;
  endpointId: string;
  policy: EndpointPolicy;
  /** Where the result goes (signal {@link webhookResultSignal}). */
  notificationWorkflowId: string;
  event: OrderEvent;
  template: TemplateId;
  /** When the delivery was first asked for (epoch ms): its maximum age counts from here. */
  requestedAt: number;
}

export interface WebhookDeliveryResult {
  messageId: string;
  delivered: boolean;
  attempts: number;
  status?: number;
  /** Set when not delivered: one of {@link webhookFailures}. */
  errorType?: string;
  message?: string;
}

export interface EndpointState {
  endpointId: string;
  circuit: CircuitState;
  consecutiveFailures: number;
  /** While open: when the next probe may go (ISO 8601). */
  probeAt: string | null;
  inFlight: number;
  waiting: number;
  /** The earliest time a waiting delivery is due (ISO 8601). */
  nextAttemptAt: string | null;
}

interface Waiting {
  request: WebhookDeliveryRequest;
  failedAttempts: number;
  /** Not before this time (epoch ms): a retry's backoff or the endpoint's Retry-After. */
  notBefore: number;
}

export interface WebhookEndpointInput {
  endpointId: string;
  /** Carried over continue-as-new. */
  policy?: EndpointPolicy;
  waiting?: Waiting[];
  circuit?: Circuit;
  bucket?: TokenBucket;
  recentResults?: WebhookDeliveryResult[];
}

export const webhookDeliverySignal = defineSignal<[WebhookDeliveryRequest]>('webhookDelivery');
export const webhookResultSignal = defineSignal<[WebhookDeliveryResult]>('webhookResult');
export const endpointStateQuery = defineQuery<EndpointState>('endpointState');
/** The notification was cancelled: drop its delivery if it is still waiting. */
export const webhookWithdrawSignal = defineSignal<[string]>('webhookWithdraw');
/** An operator asked for the next attempt now: a waiting delivery is due at once (the circuit still applies). */
export const webhookRetryNowSignal = defineSignal<[string]>('webhookRetryNow');

/** An endpoint with nothing to deliver for this long completes; its next delivery starts a new run. */
const idleTimeoutMs = 10 * 60_000;
const maxHistoryEvents = 2_000;
/** Results kept to answer a repeated request without calling the endpoint again. */
const recentResultsKept = 500;

/**
 * One per webhook endpoint (id `webhook-endpoint:<endpointId>`): every delivery to the endpoint passes
 * through it, so one place enforces the endpoint's in-flight cap, token bucket, circuit breaker and retry
 * schedule. Deliveries held back wait here, durably, as workflow state and timers, not in a worker slot:
 * a hanging endpoint holds at most `maxInFlight` activity slots, and once its circuit opens, one.
 */
export async function webhookEndpointWorkflow(input: WebhookEndpointInput): Promise<void> {
  const { endpointId } = input;
  let policy = input.policy;
  let circuit = input.circuit ?? closedCircuit();
  metrics.circuitState(endpointId, circuit.state);
  const setCircuit = (next: Circuit): void => {
    if (next.state !== circuit.state) metrics.circuitState(endpointId, next.state);
    circuit = next;
  };
  let bucket = input.bucket;
  const waiting: Waiting[] = [...(input.waiting ?? [])];
  const inFlight = new Set<string>();
  const recent = new Map((input.recentResults ?? []).map((result) => [result.messageId, result]));
  /** Result signals not yet acknowledged by the server: continue-as-new must wait for them, or they are dropped. */
  let replying = 0;
  let changed = false;

  async function reply(notificationWorkflowId: string, result: WebhookDeliveryResult): Promise<void> {
    replying++;
    try {
      await getExternalWorkflowHandle(notificationWorkflowId).signal(webhookResultSignal, result);
    } catch {
      // The notification workflow is gone (cancelled or terminated): nobody waits for this result.
    } finally {
      replying--;
      changed = true;
    }
  }

  setHandler(webhookDeliverySignal, (request) => {
    policy = request.policy;
    if (inFlight.has(request.messageId) || waiting.some((w) => w.request.messageId === request.messageId)) return;
    const done = recent.get(request.messageId);
    if (done !== undefined) {
      void reply(request.notificationWorkflowId, done);
      return;
    }
    waiting.push({ request, failedAttempts: 0, notBefore: 0 });
    changed = true;
  });
  setHandler(webhookWithdrawSignal, (messageId) => {
    const index = waiting.findIndex((w) => w.request.messageId === messageId);
    if (index >= 0) waiting.splice(index, 1);
  });
  setHandler(webhookRetryNowSignal, (messageId) => {
    const item = waiting.find((w) => w.request.messageId === messageId);
    if (item === undefined) return;
    item.notBefore = 0;
    changed = true;
  });
  setHandler(endpointStateQuery, () => {
    const due = Math.min(...waiting.map((w) => w.notBefore));
    return {
      endpointId,
      circuit: circuit.state,
      consecutiveFailures: circuit.consecutiveFailures,
      probeAt:
        circuit.state === 'open' && circuit.openUntil !== null ? new Date(circuit.openUntil).toISOString() : null,
      inFlight: inFlight.size,
      waiting: waiting.length,
      nextAttemptAt: Number.isFinite(due) ? new Date(Math.max(due, Date.now())).toISOString() : null,
    };
  });

  async function attempt(item: Waiting, current: EndpointPolicy): Promise<void> {
    const { request } = item;
    const attempts = item.failedAttempts + 1;
    let outcome: WebhookAttempt;
    try {
      outcome = await webhooks.postWebhook({
        endpointId,
        messageId: request.messageId,
        event: request.event,
        template: request.template,
      });
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      // The activity timed out or its worker died: as far as the endpoint is concerned, no answer.
      outcome = {
        kind: 'retry',
        countsAsFailure: true,
        message: `no result from the webhook worker: ${error.cause?.message ?? error.message}`,
      };
    }
    inFlight.delete(request.messageId);
    changed = true;
    const now = Date.now();
    if (outcome.kind === 'retry') {
      if (outcome.countsAsFailure) setCircuit(circuitOnFailure(circuit, now, current));
      const notBefore = now + (outcome.retryAfterMs ?? retryDelayMs(current, attempts, Math.random));
      if (notBefore <= request.requestedAt + current.maxAgeS * 1000) {
        waiting.push({ request, failedAttempts: attempts, notBefore });
        return;
      }
      await finish(request, {
        delivered: false,
        attempts,
        ...withStatus(outcome.status),
        errorType: webhookFailures.expired,
        message: `no success within ${current.maxAgeS} s (${attempts} attempts); last: ${outcome.message}`,
      });
      return;
    }
    // A disabled endpoint or a refused destination made no request: nothing to say about the endpoint's health.
    if (outcome.kind !== 'disabled' && outcome.kind !== 'forbidden') setCircuit(circuitOnSuccess());
    if (outcome.kind === 'delivered') {
      await finish(request, { delivered: true, attempts, status: outcome.status });
      return;
    }
    await finish(request, {
      delivered: false,
      attempts,
      ...withStatus('status' in outcome ? outcome.status : undefined),
      errorType: webhookFailures[outcome.kind],
      message: outcome.message,
    });
  }

  async function finish(
    request: WebhookDeliveryRequest,
    result: Omit<WebhookDeliveryResult, 'messageId'>,
  ): Promise<void> {
    const full = { messageId: request.messageId, ...result };
    recent.set(full.messageId, full);
    if (recent.size > recentResultsKept) recent.delete(recent.keys().next().value!);
    await reply(request.notificationWorkflowId, full);
  }

  for (;;) {
    const now = Date.now();
    const draining = workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistoryEvents;
    let wakeAt = Number.POSITIVE_INFINITY;
    // Start every delivery that is due and allowed: in-flight cap, circuit, then a token from the bucket.
    while (!draining && policy !== undefined) {
      const current: EndpointPolicy = policy;
      const next = waiting.findIndex((w) => w.notBefore <= now);
      if (next < 0 || inFlight.size >= current.maxInFlight) break;
      if (!circuitAdmits(circuit, now, inFlight.size)) {
        if (circuit.state === 'open' && inFlight.size === 0) wakeAt = Math.min(wakeAt, circuit.openUntil ?? now);
        break;
      }
      bucket ??= fullBucket(current, now);
      const tokenIn = msUntilToken(bucket, now, current);
      if (tokenIn > 0) {
        wakeAt = Math.min(wakeAt, now + tokenIn);
        break;
      }
      bucket = takeToken(bucket, now, current);
      setCircuit(circuitOnStart(circuit));
      const [item] = waiting.splice(next, 1);
      inFlight.add(item!.request.messageId);
      void attempt(item!, current);
    }
    for (const w of waiting) if (w.notBefore > now) wakeAt = Math.min(wakeAt, w.notBefore);

    if (draining && inFlight.size === 0 && replying === 0) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof webhookEndpointWorkflow>({
        endpointId,
        policy,
        waiting,
        circuit,
        bucket,
        recentResults: [...recent.values()],
      });
    }
    const idle = waiting.length === 0 && inFlight.size === 0 && replying === 0;
    changed = false;
    const timeoutMs = idle ? idleTimeoutMs : Number.isFinite(wakeAt) ? Math.max(1, wakeAt - now) : undefined;
    const woken =
      timeoutMs === undefined ? (await condition(() => changed), true) : await condition(() => changed, timeoutMs);
    if (!woken && idle) return;
  }
}

const withStatus = (status: number | undefined) => (status === undefined ? {} : { status });
