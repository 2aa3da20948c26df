import { ApplicationFailure, log, patched } from '@temporalio/workflow';
import { type Channel, type DeadLetter, type OrderEvent, errorText, notificationKey } from '../domain.js';
import { activityFailureCause } from './failures.js';
import { ledger, signals } from './proxies.js';

/** Why a notification (or one delivery) was given up. */
export type Failure = Pick<DeadLetter, 'errorType' | 'message' | 'attempts'>;

/** Whose delivery failed, when it was one delivery and not the whole event. */
export interface FailedDelivery {
  userId: string;
  channel: Channel;
  endpointId?: string;
}

/**
 * The dead-letter entry of an event's notification, or with `delivery`, of one of its deliveries. The one place
 * an entry is built, and its error text cut.
 */
export function deadLetterOf(
  event: Pick<OrderEvent, 'eventId' | 'notificationId' | 'orderId' | 'customerId'>,
  failure: Failure,
  delivery?: FailedDelivery,
): DeadLetter {
  return {
    eventId: event.eventId,
    notificationId: notificationKey(event),
    orderId: event.orderId,
    customerId: event.customerId,
    ...failure,
    message: errorText(failure.message),
    failedAt: new Date(Date.now()).toISOString(),
    ...(delivery === undefined ? {} : { userId: delivery.userId, channel: delivery.channel }),
    ...(delivery?.endpointId === undefined ? {} : { endpointId: delivery.endpointId }),
  };
}

/** What an activity failed with, as a dead letter says it; anything else is a bug and fails the workflow task. */
export function failureOf(error: unknown): Failure {
  const cause = activityFailureCause(error);
  if (cause === undefined) throw error;
  const details =
    cause instanceof ApplicationFailure ? (cause.details?.[0] as { attempts?: number } | undefined) : undefined;
  return {
    errorType: cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : cause.name,
    message: cause.message,
    attempts: details?.attempts ?? 1,
  };
}

/**
 * Notifications started before the `dead-letters` workflow was retired also reported each dead letter to it (a local
 * activity, now a no-op): their histories replay so. Remove with `deprecatePatch` once none of them runs.
 */
const deadLettersInTableOnly = 'dead-letters-in-table-only';

/**
 * Records a failed delivery (or event) in the ledger: the `dead_letters` table is the record operators act on. Says
 * how the delivery settled: suppressed when it was meanwhile (its recipient erased or opted out while it was retried).
 */
export async function deadLetter(entry: DeadLetter): Promise<'dead_lettered' | 'suppressed'> {
  // Histories from before the ledger answered carry no answer: those deliveries were dead-lettered.
  const answer: 'dead_lettered' | 'suppressed' | undefined = await ledger.recordDeadLetter(entry);
  if (!patched(deadLettersInTableOnly)) await signals.reportDeadLetter(entry);
  const settled = answer ?? 'dead_lettered';
  if (settled === 'dead_lettered') log.warn('notification dead-lettered', { ...entry });
  else log.info('not dead-lettered: the delivery was suppressed meanwhile', { ...entry });
  return settled;
}
