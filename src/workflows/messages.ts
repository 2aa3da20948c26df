import { defineSignal } from '@temporalio/workflow';

/** An operator stops the notification (`orderly cancel`): what is not delivered yet is recorded as cancelled. */
export const cancelNotificationSignal = defineSignal<[{ reason: string }]>('cancelNotification');
/** An operator asks for the next attempt now instead of after the backoff (`orderly retry`). */
export const retryNowSignal = defineSignal('retryNow');
/** An operator resumed a held customer (`orderly resume`). */
export const resumeSignal = defineSignal('resume');

/**
 * The order's next notification waits for this one to settle: sent to the predecessor with the waiting
 * workflow's id, which the predecessor signals {@link predecessorSettledSignal} when it is done.
 */
export const successorWaitingSignal = defineSignal<[workflowId: string]>('successorWaiting');
/** The order's previous notification is delivered, suppressed, cancelled or dead-lettered: go. */
export const predecessorSettledSignal = defineSignal('predecessorSettled');
