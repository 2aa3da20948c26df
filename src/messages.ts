/**
 * Every signal and query of Orderly's workflows, with the payloads they carry, apart from the workflow logic
 * (as in temporalio/samples-typescript `mutex/src/shared.ts`): activities, operations and tests import these
 * without importing a workflow module.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import {
  type DigestRule,
  type DirectAttemptFailure,
  type EndpointPolicy,
  type OrderEvent,
  type Recipient,
  type TemplateId,
  signalNames,
} from './domain.js';
import type { CircuitState } from './webhook-policy.js';

// The notification workflow (`eventNotificationWorkflow`).

/** An operator stops the notification (`orderly cancel`): what is not delivered yet is recorded as cancelled. */
export const cancelNotificationSignal = defineSignal<[{ reason: string }]>('cancelNotification');
/** An operator asks for the next attempt now instead of after the backoff (`orderly retry`). */
export const retryNowSignal = defineSignal('retryNow');
/** An operator resumed a held customer (`orderly resume`). */
export const resumeSignal = defineSignal('resume');

/** The order's previous notification is delivered, suppressed, cancelled or dead-lettered: go. */
export const predecessorSettledSignal = defineSignal(signalNames.predecessorSettled);

// A webhook endpoint's workflow (`webhookEndpointWorkflow`, id `webhook-endpoint:<endpointId>`).

/** One delivery of one notification to this endpoint, asked for by a notification workflow. */
export interface WebhookDeliveryRequest {
  /** The message, whose content (event and template) `webhook_messages` holds: the endpoint's state names it only. */
  messageId: string;
  endpointId: string;
  policy: EndpointPolicy;
  /** Where the result goes (signal {@link webhookResultSignal}). */
  notificationWorkflowId: string;
  /** When the delivery was first asked for (epoch ms): its maximum age counts from here. */
  requestedAt: number;
  /** The notification's direct attempt failed: the endpoint's first attempt is its second. */
  directAttempt?: DirectAttemptFailure;
  /** Only in requests of earlier versions, which carried the content itself. */
  event?: OrderEvent;
  template?: TemplateId;
}

/** What a notification hands over for a webhook delivery: the request, with the message's content to store. */
export interface WebhookDeliveryAsk extends WebhookDeliveryRequest {
  event: OrderEvent;
  template: TemplateId;
}

export interface WebhookDeliveryResult {
  messageId: string;
  /** The notification the result answers (absent on results recorded before it was kept). */
  notificationWorkflowId?: string;
  delivered: boolean;
  attempts: number;
  status?: number;
  /** Set when not delivered: one of `webhookFailures` (domain). */
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

/** A notification asks the endpoint for a delivery (signal-with-start, from an activity). */
export const webhookDeliverySignal = defineSignal<[WebhookDeliveryRequest]>('webhookDelivery');
/** The endpoint workflow answers the notification workflow that asked. */
export const webhookResultSignal = defineSignal<[WebhookDeliveryResult]>('webhookResult');
export const endpointStateQuery = defineQuery<EndpointState>('endpointState');
/** The notification was cancelled: drop its delivery if it is still waiting. */
export const webhookWithdrawSignal = defineSignal<[string]>('webhookWithdraw');
/** An operator asked for the next attempt now: a waiting delivery is due at once (the circuit still applies). */
export const webhookRetryNowSignal = defineSignal<[string]>('webhookRetryNow');

// A digest's workflow (`digestWorkflow`, id `digest:<digestId>`).

export interface DigestInput {
  digestId: string;
  customerId: string;
  /** When its window ends (epoch ms): it is sent then, unless it fills up or an operator flushes or cancels it first. */
  closesAt: number;
  /** Who it goes to, and how (the rule of the event that opened it). */
  recipient: Recipient & { digest: DigestRule };
}

/** Send the digest now: it is full, or an operator flushed it (`orderly digest flush`). */
export const flushDigestSignal = defineSignal('flushDigest');
/** An operator cancelled the digest (`orderly digest cancel`): if it has not been sent, its events are not sent. */
export const cancelDigestSignal = defineSignal<[{ reason: string }]>('cancelDigest');
/** The recipient's digest before this one has settled: this one may go. */
export const previousDigestSettledSignal = defineSignal('previousDigestSettled');
