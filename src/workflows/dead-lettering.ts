import { ApplicationFailure, log } from '@temporalio/workflow';
import { type Channel, type DeadLetter, type OrderEvent, notificationKey } from '../domain.js';
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
 * an entry is built: the ledger's row and the dead-letter workflow's entry are this object.
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

/** Records a failed delivery (or event) in the ledger and hands it to the dead-letter workflow. */
export async function deadLetter(entry: DeadLetter): Promise<void> {
  log.warn('notification dead-lettered', { ...entry });
  await ledger.recordDeadLetter(entry);
  await signals.reportDeadLetter(entry);
}
