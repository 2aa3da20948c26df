import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SendEmailInput, SentEmail } from '../activities/email.js';
import type { AudienceOfEvent } from '../activities/preferences.js';
import { type DeadLetter, type OrderEvent, type Recipient, classify, notificationKey, webhookMessageId, workflowIds } from '../domain.js';
import { type NotificationStatus, searchAttributes } from '../search-attributes.js';
import { activityFailureCause } from './failures.js';
import { email, emailFirstAttempt, ledger, preferences, signals } from './proxies.js';
import { type WebhookDeliveryResult, webhookResultSignal, webhookRetryNowSignal, webhookWithdrawSignal } from './webhook-endpoint.js';

export interface NotificationOutcome {
  status: NotificationStatus;
  delivered: number;
  suppressed: number;
  deadLettered: number;
}

/** An operator stops the notification (`orderly cancel`): what is not delivered yet is recorded as cancelled. */
export const cancelNotificationSignal = defineSignal<[{ reason: string }]>('cancelNotification');
/** An operator asks for the next attempt now instead of after the backoff (`orderly retry`). */
export const retryNowSignal = defineSignal('retryNow');
/** An operator resumed a held customer (`orderly resume`). */
export const resumeSignal = defineSignal('resume');

/** A held notification looks again this often, in case the resume signal never came. */
const holdRecheckInterval = '1 minute';
/** How often a webhook delivery asks its endpoint workflow again for a result that has not arrived. */
const resultReminderInterval = '5 minutes';

/**
 * One event's notification (id `notification:<eventId>`, or `notification:<eventId>@<binlog position>` for a
 * status change): classify, find the audience, record it, send to every recipient in parallel, record each
 * result. A failure that is permanent or out of retries dead-letters that delivery; the workflow itself still
 * completes so the order's next event proceeds. Operators can hold it (per customer), hurry it, or cancel it.
 */
export async function notificationWorkflow(event: OrderEvent): Promise<NotificationOutcome> {
  const webhookResults = new Map<string, WebhookDeliveryResult>();
  const webhookRequests = new Map<string, string>(); // messageId -> endpointId
  const sendAttempts = new Set<CancellationScope>();
  const deliveries = new CancellationScope();
  let cancellation: string | undefined;
  let resumed = false;

  setHandler(webhookResultSignal, (result) => void webhookResults.set(result.messageId, result));
  setHandler(cancelNotificationSignal, ({ reason }) => {
    cancellation ??= reason;
    deliveries.cancel();
  });
  setHandler(retryNowSignal, () => {
    for (const attempt of sendAttempts) attempt.cancel();
    for (const [messageId, endpointId] of webhookRequests) void signalEndpoint(endpointId, webhookRetryNowSignal, messageId);
  });
  setHandler(resumeSignal, () => void (resumed = true));

  const template = classify(event);
  let audience: AudienceOfEvent;
  try {
    audience = await preferences.findAudience(event);
    while (audience.held && cancellation === undefined) {
      setStatus('held');
      resumed = false;
      await condition(() => resumed || cancellation !== undefined, holdRecheckInterval);
      audience = await preferences.findAudience(event);
    }
  } catch (error) {
    await deadLetter(failureOf(error, event));
    return finish(event, { status: 'dead_lettered', delivered: 0, suppressed: 0, deadLettered: 1 });
  }
  if (audience.held) setStatus('processing');
  const toSend = await ledger.recordAudience(event, template, audience.recipients, audience.suppressed);

  /** One send; `retryNow` interrupts its backoff and starts it again at once. */
  async function interruptible<T>(send: () => Promise<T>): Promise<T> {
    for (;;) {
      const attempt = new CancellationScope();
      sendAttempts.add(attempt);
      try {
        return await attempt.run(send);
      } catch (error) {
        // An attempt interrupted by retryNow ends cancelled, or failed if it was in flight; either way, go again.
        if (!(isCancellation(error) || attempt.consideredCancelled) || deliveries.consideredCancelled) throw error;
      } finally {
        sendAttempts.delete(attempt);
      }
    }
  }

  async function deliverEmail(recipient: Recipient): Promise<'delivered' | 'dead_lettered'> {
    try {
      const sent = await interruptible(() => sendEmail({ template, event, userId: recipient.userId, username: recipient.username, to: recipient.email }));
      // Sent is sent, even if a cancellation arrived meanwhile: the ledger must say so.
      await CancellationScope.nonCancellable(() => ledger.recordDelivered({ notificationId: notificationKey(event), userId: recipient.userId, channel: recipient.channel, ...sent }));
      return 'delivered';
    } catch (error) {
      if (isCancellation(error) || deliveries.consideredCancelled) throw error;
      await deadLetter({ ...failureOf(error, event), userId: recipient.userId, channel: recipient.channel });
      return 'dead_lettered';
    }
  }

  /**
   * Hands the delivery to the endpoint's workflow, which sends it when the endpoint's circuit, rate limit
   * and retry schedule allow, and waits (durably, for as long as that takes) for its result.
   */
  async function deliverWebhook(recipient: Recipient, endpoint: NonNullable<Recipient['endpoint']>): Promise<'delivered' | 'dead_lettered'> {
    const messageId = webhookMessageId(notificationKey(event), endpoint.id);
    const request = { messageId, endpointId: endpoint.id, policy: endpoint.policy, notificationWorkflowId: workflowInfo().workflowId, event, template, requestedAt: Date.now() };
    webhookRequests.set(messageId, endpoint.id);
    try {
      await signals.requestWebhookDelivery(request);
      // The endpoint workflow ignores a request it already holds and answers one it already finished: asking
      // again now and then recovers a result that never arrived (say, the endpoint workflow was terminated).
      while (!(await condition(() => webhookResults.has(messageId), resultReminderInterval))) await signals.requestWebhookDelivery(request);
    } catch (error) {
      if (isCancellation(error)) await CancellationScope.nonCancellable(() => signalEndpoint(endpoint.id, webhookWithdrawSignal, messageId));
      throw error;
    } finally {
      webhookRequests.delete(messageId);
    }
    const result = webhookResults.get(messageId)!;
    const delivery = { notificationId: notificationKey(event), userId: recipient.userId, channel: recipient.channel, endpointId: endpoint.id };
    if (result.delivered) {
      await CancellationScope.nonCancellable(() => ledger.recordDelivered({ ...delivery, providerMessageId: `${messageId} HTTP ${result.status ?? ''}`.trim(), attempts: result.attempts }));
      return 'delivered';
    }
    await deadLetter({
      ...delivery,
      eventId: event.eventId,
      orderId: event.orderId,
      customerId: event.customerId,
      errorType: result.errorType ?? 'WebhookFailed',
      message: result.message ?? 'the webhook delivery failed',
      attempts: result.attempts,
      failedAt: new Date(Date.now()).toISOString(),
    });
    return 'dead_lettered';
  }

  let results: ('delivered' | 'dead_lettered')[];
  try {
    results = await deliveries.run(() => Promise.all(toSend.map((r) => (r.endpoint ? deliverWebhook(r, r.endpoint) : deliverEmail(r)))));
  } catch (error) {
    if (!isCancellation(error)) throw error;
    // Cancelled by an operator (signal) or through Temporal: record it, and complete so the order moves on.
    await CancellationScope.nonCancellable(() => ledger.recordCancelled(notificationKey(event), cancellation ?? 'cancelled through Temporal'));
    return finish(event, { status: 'cancelled', delivered: 0, suppressed: audience.suppressed.length, deadLettered: 0 });
  }
  const delivered = results.filter((r) => r === 'delivered').length;
  const deadLettered = results.length - delivered;
  const status: NotificationStatus = deadLettered > 0 ? 'dead_lettered' : delivered > 0 ? 'delivered' : 'suppressed';
  return finish(event, { status, delivered, suppressed: audience.suppressed.length, deadLettered });
}

/**
 * One email: the first attempt locally, then, when the failure may pass, the email workers' durable retries
 * (the attempt count carries on). Runs started before the local first attempt keep their one activity.
 */
async function sendEmail(input: SendEmailInput): Promise<SentEmail> {
  if (!patched('email-first-attempt-local')) return email.sendEmail(input);
  try {
    return await emailFirstAttempt.sendEmail(input);
  } catch (error) {
    const cause = activityFailureCause(error);
    if (isCancellation(error) || cause === undefined || (cause instanceof ApplicationFailure && cause.nonRetryable)) throw error;
    return email.sendEmail({ ...input, previousAttempts: 1 });
  }
}

async function signalEndpoint(endpointId: string, signal: typeof webhookRetryNowSignal, messageId: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(workflowIds.webhookEndpoint(endpointId)).signal(signal, messageId);
  } catch {
    // The endpoint workflow finished: nothing of this notification is waiting there.
  }
}

async function deadLetter(entry: DeadLetter): Promise<void> {
  log.warn('notification dead-lettered', { ...entry });
  await ledger.recordDeadLetter(entry);
  await signals.reportDeadLetter(entry);
}

/** Turns an activity failure into a dead-letter entry; anything else is a bug and fails the workflow task. */
function failureOf(error: unknown, event: OrderEvent): DeadLetter {
  const cause = activityFailureCause(error);
  if (cause === undefined) throw error;
  const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as { attempts?: number } | undefined) : undefined;
  return {
    eventId: event.eventId,
    notificationId: notificationKey(event),
    orderId: event.orderId,
    customerId: event.customerId,
    errorType: cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : cause.name,
    message: cause.message,
    attempts: details?.attempts ?? 1,
    failedAt: new Date(Date.now()).toISOString(),
  };
}

function setStatus(status: NotificationStatus): void {
  upsertSearchAttributes([{ key: searchAttributes.notificationStatus, value: status }]);
}

function finish(event: OrderEvent, outcome: NotificationOutcome): NotificationOutcome {
  setStatus(outcome.status);
  log.info('notification settled', { eventId: event.eventId, notificationId: notificationKey(event), orderId: event.orderId, customerId: event.customerId, ...outcome });
  return outcome;
}
