import { ApplicationFailure, isCancellation, patched } from '@temporalio/workflow';
import type { SendEmailInput, SentEmail } from '../activities/email.js';
import type { AudienceOfEvent } from '../activities/preferences.js';
import { type OrderEvent, classify } from '../domain.js';
import { activityFailureCause } from './failures.js';
import { deadLetter, deadLetterOf, failureOf } from './dead-lettering.js';
import { type NotificationOutcome, NotificationRun, finish, setStatus } from './notification-run.js';
import { email, emailFirstAttempt, ledger, preferences } from './proxies.js';

export type { NotificationOutcome } from './notification-run.js';

/**
 * The previous design's notification (id `notification:<eventId>`), a child of its order's `orderWorkflow`:
 * classify, find the audience, record it, send to every recipient in parallel, record each result. Kept
 * registered, unchanged in what it does, until the runs it started are drained; new events go to
 * {@link eventNotificationWorkflow}.
 */
export async function notificationWorkflow(event: OrderEvent): Promise<NotificationOutcome> {
  const run = new NotificationRun(event, classify(event));
  let audience: AudienceOfEvent;
  try {
    audience = await preferences.findAudience(event);
    while (audience.held && run.cancellation === undefined) {
      await run.waitWhileHeld();
      audience = await preferences.findAudience(event);
    }
  } catch (error) {
    await deadLetter(deadLetterOf(event, failureOf(error)));
    return finish(event, { status: 'dead_lettered', delivered: 0, suppressed: 0, deadLettered: 1 });
  }
  if (audience.held) setStatus('processing');
  const toSend = await ledger.recordAudience(event, run.template, audience.recipients, audience.suppressed);
  return finish(
    event,
    await run.deliver(toSend, sendEmail, { delivered: 0, suppressed: audience.suppressed.length, deadLettered: 0 }),
  );
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
    if (isCancellation(error) || cause === undefined || (cause instanceof ApplicationFailure && cause.nonRetryable))
      throw error;
    return email.sendEmail({ ...input, previousAttempts: 1 });
  }
}
