import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  makeContinueAsNewFunc,
  getExternalWorkflowHandle,
  proxySinks,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { WebhookAttempt } from '../activities/webhook.js';
import { endpointWorkflowTaskTimeout } from '../domain.js';
import { EndpointScheduler, type RequestAnswer, type WebhookEndpointInput } from './endpoint-scheduler.js';
import {
  type WebhookDeliveryRequest,
  type WebhookDeliveryResult,
  endpointStateQuery,
  webhookDeliverySignal,
  webhookResultSignal,
  webhookRetryNowSignal,
  webhookWithdrawSignal,
} from '../messages.js';
import { endpointNow, endpointTimers } from '../summaries.js';
import { webhooks } from './proxies.js';
import type { OrderlySinks } from './sinks.js';

export type { WebhookEndpointInput } from './endpoint-scheduler.js';

const { metrics } = proxySinks<OrderlySinks>();

/** An endpoint with nothing to deliver for this long completes; its next delivery starts a new run. */
const idleTimeoutMs = 10 * 60_000;
const maxHistoryEvents = 2_000;
/** When a call whose webhook worker died goes again: soon, and not in a tight loop should it kill every worker. */
const workerLostRetryMs = 1_000;

/**
 * One per webhook endpoint (id `webhook-endpoint:<endpointId>`): every delivery to the endpoint passes
 * through it, so one place enforces the endpoint's in-flight cap, token bucket, circuit breaker and retry
 * schedule (an {@link EndpointScheduler}). Deliveries held back wait here, durably, as workflow state and timers,
 * not in a worker slot: a hanging endpoint holds at most `maxInFlight` activity slots, and once its circuit opens, one.
 */
export async function webhookEndpointWorkflow(input: WebhookEndpointInput): Promise<void> {
  const scheduler = new EndpointScheduler(input, (state) => metrics.circuitState(input.endpointId, state));
  /** Something happened that the loop below must look at. */
  let changed = false;
  /** Result signals not yet acknowledged by the server: continue-as-new must wait for them, or they are dropped. */
  let replying = 0;

  async function reply(request: WebhookDeliveryRequest, result: WebhookDeliveryResult): Promise<void> {
    replying++;
    try {
      await getExternalWorkflowHandle(request.notificationWorkflowId).signal(webhookResultSignal, result);
    } catch {
      // The notification workflow is gone (cancelled or terminated): nobody waits for this result.
    } finally {
      replying--;
      changed = true;
    }
  }

  const wake = (happened: boolean): void => void (changed ||= happened);

  function answer(request: WebhookDeliveryRequest, answered: RequestAnswer): void {
    wake(answered.kind === 'queued');
    if (answered.kind === 'finished') void reply(request, answered.result);
  }

  async function attempt(request: WebhookDeliveryRequest): Promise<void> {
    const outcome = await postWebhook(input.endpointId, request);
    changed = true;
    const result = scheduler.recordOutcome(request.messageId, outcome, Date.now(), Math.random);
    if (result !== undefined) await reply(request, result);
  }

  setHandler(webhookDeliverySignal, (request) => answer(request, scheduler.request(request, Date.now())));
  // A withdrawn delivery needs no wake-up: at worst, the loop looks again when it would have started it.
  setHandler(webhookWithdrawSignal, (messageId) => void scheduler.withdraw(messageId));
  setHandler(webhookRetryNowSignal, (messageId) => wake(scheduler.retryNow(messageId)));
  setHandler(endpointStateQuery, () => scheduler.state(Date.now()));

  for (;;) {
    const now = Date.now();
    const draining = workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistoryEvents;
    if (!draining) for (const request of scheduler.admit(now)) void attempt(request);
    if (draining && scheduler.inFlightCount === 0 && replying === 0) {
      await condition(allHandlersFinished);
      await makeContinueAsNewFunc<typeof webhookEndpointWorkflow>({ workflowTaskTimeout: endpointWorkflowTaskTimeout })(
        scheduler.snapshot(),
      );
    }
    const wakeAt = scheduler.nextWakeUp(now, { admitting: !draining });
    const idle = scheduler.idle && replying === 0;
    changed = false;
    const timeoutMs = idle ? idleTimeoutMs : wakeAt !== undefined ? Math.max(1, wakeAt - now) : undefined;
    setCurrentDetails(endpointNow(scheduler.state(now)));
    const summary = idle ? endpointTimers.idle : endpointTimers.nextDue;
    const woken =
      timeoutMs === undefined
        ? (await condition(() => changed), true)
        : await condition(() => changed, timeoutMs, { summary });
    if (!woken && idle) return;
  }
}

/** One attempt, on the webhook workers. An attempt that brings no answer counts as the endpoint's failure. */
async function postWebhook(
  endpointId: string,
  { messageId, policy, event, template }: WebhookDeliveryRequest,
): Promise<WebhookAttempt> {
  try {
    // The webhook worker reads the message's content from MySQL; requests of earlier versions carry it.
    return await webhooks.postWebhook({
      endpointId,
      messageId,
      limits: { ratePerSecond: policy.ratePerSecond, maxInFlight: policy.maxInFlight },
      ...(event && template ? { event, template } : {}),
    });
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    // No result at all: the call beats while in flight and ends itself on the endpoint's timeouts, so its worker
    // died or stalled (heartbeat timeout). Not the endpoint's failure: tried again shortly, the circuit untouched.
    return {
      kind: 'retry',
      countsAsFailure: false,
      retryAfterMs: workerLostRetryMs,
      message: `no result from the webhook worker: ${error.cause?.message ?? error.message}`,
    };
  }
}
