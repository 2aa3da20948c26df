import { defineSignal } from '@temporalio/workflow';
import { signalNames } from '../domain.js';

/** An operator stops the notification (`orderly cancel`): what is not delivered yet is recorded as cancelled. */
export const cancelNotificationSignal = defineSignal<[{ reason: string }]>('cancelNotification');
/** An operator asks for the next attempt now instead of after the backoff (`orderly retry`). */
export const retryNowSignal = defineSignal('retryNow');
/** An operator resumed a held customer (`orderly resume`). */
export const resumeSignal = defineSignal('resume');

/** The order's previous notification is delivered, suppressed, cancelled or dead-lettered: go. */
export const predecessorSettledSignal = defineSignal(signalNames.predecessorSettled);
