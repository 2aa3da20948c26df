import { type RetryPolicy } from '@temporalio/common';
import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { createDigestActivities } from '../activities/digests.js';
import type { createEmailActivities } from '../activities/email.js';
import type { createFirstAttemptActivities } from '../activities/first-attempt.js';
import type { createLedgerActivities } from '../activities/ledger.js';
import type { createOrderChainActivities } from '../activities/order-chain.js';
import type { createPreferenceActivities } from '../activities/preferences.js';
import type { createPushActivities } from '../activities/push.js';
import type { createSmsActivities } from '../activities/sms.js';
import type { createTemporalActivities } from '../activities/temporal.js';
import type { createWebhookActivities } from '../activities/webhook.js';
import { permanentErrors, providerUnavailable, taskQueues } from '../domain.js';

/**
 * MySQL reads and writes: retried until the database is back (an outage must not dead-letter events),
 * except for the answers that will never change.
 */
export const databasePolicy: RetryPolicy = {
  initialInterval: '200ms',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  nonRetryableErrorTypes: [
    permanentErrors.unknownOrder,
    permanentErrors.unknownCustomer,
    permanentErrors.customerMismatch,
  ],
};

/**
 * SMTP sends: a fixed number of attempts over about three minutes (seed 000: "a fixed amount"), then the
 * delivery is dead-lettered. Permanent replies and bad addresses are not retried at all.
 */
export const sendPolicy: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [
    permanentErrors.invalidRecipient,
    permanentErrors.smtpRejected,
    permanentErrors.unknownTemplate,
  ],
};

/** Lookups and ledger writes run as local activities: no history events of their own, one workflow task. */
export const preferences = proxyLocalActivities<ReturnType<typeof createPreferenceActivities>>({
  startToCloseTimeout: '10s',
  retry: databasePolicy,
});

export const ledger = proxyLocalActivities<ReturnType<typeof createLedgerActivities>>({
  startToCloseTimeout: '10s',
  retry: databasePolicy,
});

/** A digest's collection, closing and record (MySQL, and a start through the client). */
export const digests = proxyLocalActivities<ReturnType<typeof createDigestActivities>>({
  startToCloseTimeout: '10s',
  retry: databasePolicy,
});

/** Signals to the dead-letter and webhook endpoint workflows (signal-with-start needs the client). */
export const signals = proxyLocalActivities<ReturnType<typeof createTemporalActivities>>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', maximumInterval: '10s' },
});

/** Marks a notification settled and wakes the order's next one (MySQL, then a signal through the client). */
export const chain = proxyLocalActivities<ReturnType<typeof createOrderChainActivities>>({
  startToCloseTimeout: '10s',
  retry: databasePolicy,
});

/**
 * How long one send may take before its activity is given up and tried again, which for email (no idempotency key)
 * may mean a second copy: longer than the SMTP transport's socket timeout (60 s), so that a slow server (greylisting
 * servers answer DATA late on purpose) ends the send with its answer or the transport's error, never the SDK's.
 */
const sendTimeout = '2 minutes';

/**
 * A notification's happy path (wait for the predecessor, audience, ledger, every email's first attempt) in one
 * local activity: one workflow task, no history events of its own. Retried like the database it mostly talks to.
 */
export const firstAttempt = proxyLocalActivities<ReturnType<typeof createFirstAttemptActivities>>({
  startToCloseTimeout: sendTimeout,
  retry: databasePolicy,
});

/** Sends run on the email task queue, on their own workers, so SMTP capacity scales apart from workflows. */
export const email = proxyActivities<ReturnType<typeof createEmailActivities>>({
  taskQueue: taskQueues.email,
  startToCloseTimeout: sendTimeout,
  retry: sendPolicy,
  // A cancelled notification waits for a send already in flight, so the ledger says what really happened.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/**
 * Webhook calls run on their own task queue and workers. One attempt per activity: the endpoint workflow
 * owns retries (Retry-After, the endpoint's schedule, the circuit breaker). The worker's own connect and
 * response timeouts end a call well within this limit.
 */
export const webhooks = proxyActivities<ReturnType<typeof createWebhookActivities>>({
  taskQueue: taskQueues.webhooks,
  startToCloseTimeout: '1 minute',
  // The call beats every second while in flight: a worker that died is known within this, not the minute above.
  heartbeatTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
});

/**
 * SMS and push sends, at one provider: a few attempts with backoff (a provider's Retry-After sets the next delay),
 * then the workflow fails over to the channel's next provider. What is about the recipient or our request is not
 * retried: another attempt, or another provider, would get the same answer.
 */
export const providerSendPolicy: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: 3,
  nonRetryableErrorTypes: [
    permanentErrors.invalidPhoneNumber,
    permanentErrors.recipientRejected,
    permanentErrors.providerRejected,
  ],
};

/** The failure types worth the channel's next provider: the provider could not take it now, or did not answer. */
export const failoverErrorTypes: readonly string[] = [providerUnavailable];

/**
 * One SMS provider's send activity, on that provider's task queue: its workers' `maxTaskQueueActivitiesPerSecond`
 * is the provider's rate limit, enforced by Temporal across every worker process.
 */
export const smsProvider = (name: string) =>
  proxyActivities<ReturnType<typeof createSmsActivities>>({
    taskQueue: taskQueues.provider(name),
    startToCloseTimeout: '30s',
    retry: providerSendPolicy,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });

/** One push provider's send activity (every device of the user of its kind), on that provider's task queue. */
export const pushProvider = (name: string) =>
  proxyActivities<ReturnType<typeof createPushActivities>>({
    taskQueue: taskQueues.provider(name),
    startToCloseTimeout: '1 minute',
    retry: providerSendPolicy,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
