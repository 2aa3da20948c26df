import { ActivityFailure, ApplicationFailure, condition, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { type DeadLetter, type OrderEvent, type Recipient, type TemplateId, classify, notificationKey, webhookMessageId } from '../domain.js';
import { type NotificationStatus, searchAttributes } from '../search-attributes.js';
import { email, ledger, preferences, signals } from './proxies.js';
import { type WebhookDeliveryResult, webhookResultSignal } from './webhook-endpoint.js';

export interface NotificationOutcome {
  status: NotificationStatus;
  delivered: number;
  suppressed: number;
  deadLettered: number;
}

/**
 * One event's notification (id `notification:<eventId>`, or `notification:<eventId>@<binlog position>` for a
 * status change): classify, find the audience, record it,
 * send to every recipient in parallel, record each result. A failure that is permanent or out of retries
 * dead-letters that delivery; the workflow itself still completes so the order's next event proceeds.
 */
export async function notificationWorkflow(event: OrderEvent): Promise<NotificationOutcome> {
  const webhookResults = new Map<string, WebhookDeliveryResult>();
  setHandler(webhookResultSignal, (result) => void webhookResults.set(result.messageId, result));

  const template = classify(event);
  let audience;
  try {
    audience = await preferences.findAudience(event);
  } catch (error) {
    await deadLetter(failureOf(error, event));
    return finish({ status: 'dead_lettered', delivered: 0, suppressed: 0, deadLettered: 1 });
  }
  const toSend = await ledger.recordAudience(event, template, audience.recipients, audience.suppressed);
  const deliver = (recipient: Recipient) => (recipient.endpoint ? deliverWebhook(event, template, recipient, recipient.endpoint, webhookResults) : deliverEmail(event, template, recipient));
  const results = await Promise.all(toSend.map(deliver));
  const delivered = results.filter((r) => r === 'delivered').length;
  const deadLettered = results.length - delivered;
  const status: NotificationStatus = deadLettered > 0 ? 'dead_lettered' : delivered > 0 ? 'delivered' : 'suppressed';
  return finish({ status, delivered, suppressed: audience.suppressed.length, deadLettered });
}

async function deliverEmail(event: OrderEvent, template: TemplateId, recipient: Recipient): Promise<'delivered' | 'dead_lettered'> {
  try {
    const sent = await email.sendEmail({ template, event, userId: recipient.userId, username: recipient.username, to: recipient.email });
    await ledger.recordDelivered({ notificationId: notificationKey(event), userId: recipient.userId, channel: recipient.channel, ...sent });
    return 'delivered';
  } catch (error) {
    await deadLetter({ ...failureOf(error, event), userId: recipient.userId, channel: recipient.channel });
    return 'dead_lettered';
  }
}

/**
 * Hands the delivery to the endpoint's workflow, which sends it when the endpoint's circuit, rate limit and
 * retry schedule allow, and waits (durably, for as long as that takes) for its result.
 */
async function deliverWebhook(
  event: OrderEvent,
  template: TemplateId,
  recipient: Recipient,
  endpoint: NonNullable<Recipient['endpoint']>,
  results: Map<string, WebhookDeliveryResult>,
): Promise<'delivered' | 'dead_lettered'> {
  const endpointId = endpoint.id;
  const messageId = webhookMessageId(notificationKey(event), endpointId);
  const request = { messageId, endpointId, policy: endpoint.policy, notificationWorkflowId: workflowInfo().workflowId, event, template, requestedAt: Date.now() };
  await signals.requestWebhookDelivery(request);
  // The endpoint workflow ignores a request it already holds and answers one it already finished: asking
  // again now and then recovers a result that never arrived (say, the endpoint workflow was terminated).
  while (!(await condition(() => results.has(messageId), resultReminderInterval))) await signals.requestWebhookDelivery(request);
  const result = results.get(messageId)!;
  const delivery = { notificationId: notificationKey(event), userId: recipient.userId, channel: recipient.channel, endpointId };
  if (result.delivered) {
    await ledger.recordDelivered({ ...delivery, providerMessageId: `${messageId} HTTP ${result.status ?? ''}`.trim(), attempts: result.attempts });
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

const resultReminderInterval = '5 minutes';

async function deadLetter(entry: DeadLetter): Promise<void> {
  await ledger.recordDeadLetter(entry);
  await signals.reportDeadLetter(entry);
}

/** Turns an activity failure into a dead-letter entry; anything else is a bug and fails the workflow task. */
function failureOf(error: unknown, event: OrderEvent): DeadLetter {
  if (!(error instanceof ActivityFailure)) throw error;
  const cause = error.cause;
  const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as { attempts?: number } | undefined) : undefined;
  return {
    eventId: event.eventId,
    notificationId: notificationKey(event),
    orderId: event.orderId,
    customerId: event.customerId,
    errorType: cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : (cause?.name ?? 'Error'),
    message: cause?.message ?? error.message,
    attempts: details?.attempts ?? 1,
    failedAt: new Date(Date.now()).toISOString(),
  };
}

function finish(outcome: NotificationOutcome): NotificationOutcome {
  upsertSearchAttributes([{ key: searchAttributes.notificationStatus, value: outcome.status }]);
  return outcome;
}
