import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SendEmailInput, SentEmail } from '../activities/email.js';
import {
  type ChannelProviders,
  type OrderEvent,
  type Recipient,
  type TemplateId,
  notificationKey,
  webhookMessageId,
  workflowIds,
} from '../domain.js';
import { type NotificationStatus, searchAttributes } from '../search-attributes.js';
import { notificationNow, notificationTimers } from '../summaries.js';
import { deadLetter, deadLetterOf, failureOf } from './dead-lettering.js';
import {
  type WebhookDeliveryResult,
  cancelNotificationSignal,
  resumeSignal,
  retryNowSignal,
  webhookResultSignal,
  webhookRetryNowSignal,
  webhookWithdrawSignal,
} from '../messages.js';
import { ledger, signals } from './proxies.js';
import { type ChannelDeliveryContext, type ChannelDeliveryResult, deliverPush, deliverSms } from './sms-push.js';

export interface NotificationOutcome {
  status: NotificationStatus;
  delivered: number;
  suppressed: number;
  deadLettered: number;
  /** Collected into digests (issue 24): sent with the others of their windows. */
  digested?: number;
}

/** A notification's status from its counts: the worst that happened to one of its deliveries, else the best. */
export function statusOf(counts: Omit<NotificationOutcome, 'status'>): NotificationStatus {
  if (counts.deadLettered > 0) return 'dead_lettered';
  if (counts.delivered > 0) return 'delivered';
  return (counts.digested ?? 0) > 0 ? 'digested' : 'suppressed';
}

type DeliveryResult = ChannelDeliveryResult;

/**
 * A held notification looks again this often, in case the resume signal never came (`orderly resume` finds held
 * notifications through visibility, which may lag). Each look is a handful of history events: every minute, a hold
 * of five days reached Temporal's 51,200-event limit; every 15 minutes it takes years.
 */
export const holdRecheckIntervalMs = 15 * 60_000;
/**
 * The most deliveries of one notification in flight at once: Temporal fails every workflow task of a workflow with
 * more than 2,000 pending activities, and a notification to thousands of recipients must still go.
 */
const maxDeliveriesInFlight = 100;
/** How often a webhook delivery asks its endpoint workflow again for a result that has not arrived. */
const resultReminderInterval = '5 minutes';

/**
 * One notification run's deliveries and what operators do to them: cancel, retry now, resume a held customer.
 * Emails go through the durable email activity, webhooks through their endpoint's workflow; a delivery that
 * fails for good is dead-lettered, and the run still completes so the order's next notification proceeds.
 */
export class NotificationRun {
  readonly key: string;
  /** Set by an operator's cancel: why. */
  cancellation: string | undefined;
  private resumed = false;
  private readonly webhookResults = new Map<string, WebhookDeliveryResult>();
  private readonly webhookRequests = new Map<string, string>(); // messageId -> endpointId
  private readonly sendAttempts = new Set<CancellationScope>();
  /** How many times an operator asked to retry now: a wait between retry rounds ends when it changes. */
  private retryNowRequests = 0;
  /** Deliveries waiting out their recipient's quiet hours now. */
  private quietWaits = 0;
  private readonly deliveries = new CancellationScope();

  constructor(
    readonly event: OrderEvent,
    readonly template: TemplateId,
  ) {
    this.key = notificationKey(event);
    setHandler(webhookResultSignal, (result) => void this.webhookResults.set(result.messageId, result));
    setHandler(cancelNotificationSignal, ({ reason }) => this.cancel(reason));
    setHandler(retryNowSignal, () => this.retryNow());
    setHandler(resumeSignal, () => void (this.resumed = true));
  }

  private cancel(reason: string): void {
    this.cancellation ??= reason;
    this.deliveries.cancel();
  }

  private retryNow(): void {
    this.retryNowRequests += 1;
    for (const attempt of this.sendAttempts) attempt.cancel();
    for (const [messageId, endpointId] of this.webhookRequests)
      void signalEndpoint(endpointId, webhookRetryNowSignal, messageId);
  }

  /** The customer is on hold: waits until it is resumed, the notification is cancelled, or it is time to look again. */
  async waitWhileHeld(): Promise<void> {
    setStatus('held');
    setCurrentDetails(notificationNow.held(this.event.customerId, Date.now()));
    this.resumed = false;
    await condition(() => this.resumed || this.cancellation !== undefined, holdRecheckIntervalMs, {
      summary: notificationTimers.holdRecheck(this.event.customerId),
    });
  }

  /**
   * Delivers to every recipient in parallel and returns the outcome, counting `earlier` (deliveries settled
   * before, say by a first attempt) in. A cancellation records what is not delivered as cancelled.
   */
  async deliver(
    recipients: Recipient[],
    sendEmail: (input: SendEmailInput) => Promise<SentEmail>,
    earlier: Omit<NotificationOutcome, 'status'>,
    providers: ChannelProviders = { sms: [], push: [] },
  ): Promise<NotificationOutcome> {
    let results: DeliveryResult[];
    try {
      results = await this.deliveries.run(() =>
        mapBounded(recipients, maxDeliveriesInFlight, (r) => this.deliverOne(r, sendEmail, providers)),
      );
    } catch (error) {
      // A send in flight when the cancel came ends failed, not cancelled: the run is cancelled all the same.
      if (!isCancellation(error) && !this.deliveries.consideredCancelled) throw error;
      return this.settleCancelled(earlier);
    }
    const count = (result: DeliveryResult) => results.filter((r) => r === result).length;
    const counts = {
      ...earlier,
      delivered: earlier.delivered + count('delivered'),
      deadLettered: earlier.deadLettered + count('dead_lettered'),
      suppressed: earlier.suppressed + count('suppressed'),
    };
    return { status: statusOf(counts), ...counts };
  }

  private async deliverOne(
    recipient: Recipient,
    sendEmail: (input: SendEmailInput) => Promise<SentEmail>,
    providers: ChannelProviders,
  ): Promise<DeliveryResult> {
    if (recipient.quietUntil !== undefined) await this.waitOutQuietHours(recipient, recipient.quietUntil);
    if (recipient.endpoint) return this.deliverWebhook(recipient, recipient.endpoint);
    const { maxAgeS } = providers;
    if (recipient.channel === 'sms')
      return deliverSms(this.channelContext(recipient), recipient, providers.sms, maxAgeS);
    if (recipient.channel === 'push')
      return deliverPush(this.channelContext(recipient), recipient, providers.push, maxAgeS);
    return this.deliverEmail(recipient, sendEmail);
  }

  private channelContext(recipient: Recipient): ChannelDeliveryContext {
    return {
      key: this.key,
      event: this.event,
      template: this.template,
      interruptible: (send) => this.interruptible(send),
      backoff: (ms) => this.backoff(ms, notificationTimers.nextProviderRound(recipient)),
      cancelled: () => this.deliveries.consideredCancelled,
    };
  }

  /**
   * The recipient's quiet hours: a durable timer until they end, the notification's status `quiet` meanwhile. The
   * notification stays unsettled, so the order's next one waits behind it. Retry now ends the wait; a cancel, the run.
   */
  private async waitOutQuietHours(recipient: Recipient, until: number): Promise<void> {
    if (until <= Date.now()) return;
    setCurrentDetails(notificationNow.quiet(recipient, until));
    if (this.quietWaits++ === 0) setStatus('quiet');
    try {
      await this.backoff(until - Date.now(), notificationTimers.quietHoursEnd(recipient));
    } finally {
      if (--this.quietWaits === 0) setStatus('processing');
    }
  }

  /** Cancelled by an operator (signal) or through Temporal: records what is not delivered as cancelled. */
  async settleCancelled(earlier: Omit<NotificationOutcome, 'status'>): Promise<NotificationOutcome> {
    await CancellationScope.nonCancellable(() =>
      ledger.recordCancelled(this.key, this.cancellation ?? 'cancelled through Temporal'),
    );
    return { status: 'cancelled', ...earlier };
  }

  /**
   * A durable wait between retries, raced against the operators' signals: `retryNow` ends it at once, and a cancel
   * (the deliveries' scope) ends it with a cancellation.
   */
  private async backoff(ms: number, summary: string): Promise<void> {
    const requests = this.retryNowRequests;
    await condition(() => this.retryNowRequests !== requests, ms, { summary });
  }

  /** One send; `retryNow` interrupts its backoff and starts it again at once. */
  private async interruptible<T>(send: () => Promise<T>): Promise<T> {
    for (;;) {
      const attempt = new CancellationScope();
      this.sendAttempts.add(attempt);
      try {
        return await attempt.run(send);
      } catch (error) {
        // An attempt interrupted by retryNow ends cancelled, or failed if it was in flight; either way, go again.
        if (!(isCancellation(error) || attempt.consideredCancelled) || this.deliveries.consideredCancelled) throw error;
      } finally {
        this.sendAttempts.delete(attempt);
      }
    }
  }

  private async deliverEmail(
    recipient: Recipient,
    sendEmail: (input: SendEmailInput) => Promise<SentEmail>,
  ): Promise<DeliveryResult> {
    const { event, template } = this;
    try {
      const sent = await this.interruptible(() =>
        sendEmail({ template, event, userId: recipient.userId, username: recipient.username, to: recipient.email }),
      );
      // Sent is sent, even if a cancellation arrived meanwhile: the ledger must say so.
      await CancellationScope.nonCancellable(() =>
        ledger.recordDelivered({
          notificationId: this.key,
          userId: recipient.userId,
          channel: recipient.channel,
          ...sent,
        }),
      );
      return 'delivered';
    } catch (error) {
      if (isCancellation(error) || this.deliveries.consideredCancelled) throw error;
      return deadLetter(deadLetterOf(event, failureOf(error), recipient));
    }
  }

  /**
   * Hands the delivery to the endpoint's workflow, which sends it when the endpoint's circuit, rate limit
   * and retry schedule allow, and waits (durably, for as long as that takes) for its result.
   */
  private async deliverWebhook(
    recipient: Recipient,
    endpoint: NonNullable<Recipient['endpoint']>,
  ): Promise<DeliveryResult> {
    const { event, template } = this;
    const messageId = webhookMessageId(this.key, endpoint.id);
    const request = {
      messageId,
      endpointId: endpoint.id,
      policy: endpoint.policy,
      notificationWorkflowId: workflowInfo().workflowId,
      event,
      template,
      requestedAt: Date.now(),
      ...(recipient.directAttempt ? { directAttempt: recipient.directAttempt } : {}),
    };
    this.webhookRequests.set(messageId, endpoint.id);
    try {
      await signals.requestWebhookDelivery(request);
      // The endpoint workflow ignores a request it already holds and answers one it already finished: asking
      // again now and then recovers a result that never arrived (say, the endpoint workflow was terminated).
      while (!(await condition(() => this.webhookResults.has(messageId), resultReminderInterval)))
        await signals.requestWebhookDelivery(request);
    } catch (error) {
      if (isCancellation(error))
        await CancellationScope.nonCancellable(() => signalEndpoint(endpoint.id, webhookWithdrawSignal, messageId));
      throw error;
    } finally {
      this.webhookRequests.delete(messageId);
    }
    const result = this.webhookResults.get(messageId)!;
    const delivery = {
      notificationId: this.key,
      userId: recipient.userId,
      channel: recipient.channel,
      endpointId: endpoint.id,
    };
    if (result.delivered) {
      await CancellationScope.nonCancellable(() =>
        ledger.recordDelivered({
          ...delivery,
          providerMessageId: `${messageId} HTTP ${result.status ?? ''}`.trim(),
          attempts: result.attempts,
        }),
      );
      return 'delivered';
    }
    return deadLetter(
      deadLetterOf(
        event,
        {
          errorType: result.errorType ?? 'WebhookFailed',
          message: result.message ?? 'the webhook delivery failed',
          attempts: result.attempts,
        },
        delivery,
      ),
    );
  }
}

/** `work` over every item, at most `limit` at once, started in the items' order; results in that order. */
async function mapBounded<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

async function signalEndpoint(
  endpointId: string,
  signal: typeof webhookRetryNowSignal,
  messageId: string,
): Promise<void> {
  try {
    await getExternalWorkflowHandle(workflowIds.webhookEndpoint(endpointId)).signal(signal, messageId);
  } catch {
    // The endpoint workflow finished: nothing of this notification is waiting there.
  }
}

export function setStatus(status: NotificationStatus): void {
  upsertSearchAttributes([{ key: searchAttributes.notificationStatus, value: status }]);
}

/** Sets the notification's final status (search attribute) and logs it. */
export function finish(event: OrderEvent, outcome: NotificationOutcome): NotificationOutcome {
  setStatus(outcome.status);
  setCurrentDetails(notificationNow.settled(outcome.status, outcome));
  log.info('notification settled', {
    eventId: event.eventId,
    notificationId: notificationKey(event),
    orderId: event.orderId,
    customerId: event.customerId,
    ...outcome,
  });
  return outcome;
}
