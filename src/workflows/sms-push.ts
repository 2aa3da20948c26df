import { ApplicationFailure, CancellationScope, TimeoutFailure, isCancellation } from '@temporalio/workflow';
import type { PushOutcome } from '../activities/push.js';
import type { SmsOutcome } from '../activities/sms.js';
import { type OrderEvent, type Recipient, type TemplateId } from '../domain.js';
import { type Failure, deadLetter, deadLetterOf, failureOf } from './dead-lettering.js';
import { activityFailureCause } from './failures.js';
import { failoverErrorTypes, ledger, pushProvider, smsProvider } from './proxies.js';

/** What the SMS and push deliveries need of their notification run. */
export interface ChannelDeliveryContext {
  key: string;
  event: OrderEvent;
  template: TemplateId;
  /** One send that an operator's retryNow interrupts and starts again. */
  interruptible<T>(send: () => Promise<T>): Promise<T>;
  /** The notification was cancelled: a failure is then the cancellation's, not the provider's. */
  cancelled(): boolean;
}

export type ChannelDeliveryResult = 'delivered' | 'suppressed' | 'dead_lettered';

/**
 * One SMS: the providers in their configured order, each with its own retries (`providerSendPolicy`); after one
 * runs out of attempts with a failure that may pass (5xx, 429, timeout) the next takes over. A recipient's or our
 * request's error stops at once. All failed: dead-lettered with every provider's last error.
 */
export async function deliverSms(
  context: ChannelDeliveryContext,
  recipient: Recipient,
  providers: string[],
): Promise<ChannelDeliveryResult> {
  const { event, template } = context;
  const delivery = { notificationId: context.key, userId: recipient.userId, channel: 'sms' as const };
  if (providers.length === 0) return suppress(delivery, 'no SMS provider configured');
  const errors: string[] = [];
  let last: Failure | undefined;
  for (const provider of providers) {
    let outcome: SmsOutcome;
    try {
      const input = { event, template, userId: recipient.userId, username: recipient.username };
      const previousAttempts = last?.attempts ?? 0;
      outcome = await context.interruptible(() => smsProvider(provider).sendSms({ ...input, previousAttempts }));
    } catch (error) {
      if (isCancellation(error) || context.cancelled()) throw error;
      last = failureOf(error);
      errors.push(`${provider}: ${last.message}`);
      if (mayPassElsewhere(error)) continue;
      break;
    }
    if (outcome.kind === 'suppressed') return suppress(delivery, outcome.reason);
    // Accepted is accepted, even if a cancellation arrived meanwhile: the ledger must say so.
    await CancellationScope.nonCancellable(() =>
      ledger.recordDelivered({
        ...delivery,
        state: 'sent',
        provider: outcome.provider,
        providerMessageId: outcome.providerMessageId,
        attempts: outcome.attempts,
      }),
    );
    return 'delivered';
  }
  await deadLetter(deadLetterOf(event, { ...last!, message: errors.join('; ') }, delivery));
  return 'dead_lettered';
}

/**
 * One push: every configured push provider sends to the user's devices of its kind. Delivered when any device got
 * it; suppressed when the user has no device left (none registered, or each one gone and removed); dead-lettered
 * when a provider failed for good and no device got it.
 */
export async function deliverPush(
  context: ChannelDeliveryContext,
  recipient: Recipient,
  providers: string[],
): Promise<ChannelDeliveryResult> {
  const { event, template } = context;
  const delivery = { notificationId: context.key, userId: recipient.userId, channel: 'push' as const };
  if (providers.length === 0) return suppress(delivery, 'no push provider configured');
  const outcomes: PushOutcome[] = [];
  const errors: string[] = [];
  let last: Failure | undefined;
  for (const provider of providers) {
    try {
      const input = { event, template, userId: recipient.userId, username: recipient.username };
      outcomes.push(await context.interruptible(() => pushProvider(provider).sendPush(input)));
    } catch (error) {
      if (isCancellation(error) || context.cancelled()) throw error;
      last = failureOf(error);
      errors.push(`${provider}: ${last.message}`);
    }
  }
  const delivered = outcomes.filter((o) => o.kind === 'delivered');
  if (delivered.length > 0) {
    await CancellationScope.nonCancellable(() =>
      ledger.recordDelivered({
        ...delivery,
        provider: delivered.map((o) => o.provider).join(','),
        providerMessageId: delivered[0]!.providerMessageId,
        attempts: Math.max(...delivered.map((o) => o.attempts)),
      }),
    );
    return 'delivered';
  }
  if (last !== undefined) {
    await deadLetter(deadLetterOf(event, { ...last, message: errors.join('; ') }, delivery));
    return 'dead_lettered';
  }
  const gone = outcomes.find((o): o is Extract<PushOutcome, { kind: 'suppressed' }> => o.removed > 0);
  return suppress(delivery, gone?.reason ?? 'no push registration');
}

async function suppress(
  delivery: { notificationId: string; userId: string; channel: 'sms' | 'push' },
  reason: string,
): Promise<'suppressed'> {
  await CancellationScope.nonCancellable(() => ledger.recordSuppressed({ ...delivery, reason }));
  return 'suppressed';
}

/** A failure the channel's next provider may not share: the provider was unavailable, or never answered in time. */
function mayPassElsewhere(error: unknown): boolean {
  const cause = activityFailureCause(error);
  if (cause instanceof TimeoutFailure) return true;
  return cause instanceof ApplicationFailure && !cause.nonRetryable && failoverErrorTypes.includes(cause.type ?? '');
}
