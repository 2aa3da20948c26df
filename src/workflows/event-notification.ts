import { CancellationScope, condition, log, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { NotificationAttempt } from '../activities/first-attempt.js';
import { type OrderEvent, type TemplateId, classify, completionOf } from '../domain.js';
import { predecessorSettledSignal } from '../messages.js';
import { notificationNow, notificationTimers, recipientLabel } from '../summaries.js';
import { deadLetter, deadLetterOf, failureOf } from './dead-lettering.js';
import { type NotificationOutcome, NotificationRun, finish, statusOf } from './notification-run.js';
import { chain, email, firstAttempt } from './proxies.js';

export interface EventNotificationInput {
  event: OrderEvent;
  /**
   * The workflow id of the order's previous notification when this one was submitted (absent for an order's first),
   * for the Web UI: the notification waits for its predecessor as its run in MySQL records it, which changes when a
   * notification never started is taken out of the chain.
   */
  predecessor?: string;
}

/**
 * A notification waiting for its predecessor looks again this often, in case the settled signal never comes (the
 * predecessor was terminated by hand). Long on purpose: in a burst, thousands wait at once, and each look is a
 * workflow task; a short interval made them crowd out the notifications that could go. A predecessor not known to
 * have started (its submitter may have died between its append and its start) is looked at sooner, when the
 * activity says (`recheckAfterS`).
 */
const predecessorRecheckInterval = '30 minutes';

/**
 * One notification (id `notification:<eventId>`, or `notification:<eventId>@<binlog position>` for a status
 * change), started by whoever submits the event, with the id of the order's previous notification. It sends
 * only once that one has settled, so an order's notifications go out in commit order; the usual path (check,
 * audience, ledger, first attempts, wake the next one) is one local activity. What fails in a way that may pass
 * is retried durably; what fails for good is dead-lettered. Settled, it wakes the order's next notification.
 */
export async function eventNotificationWorkflow(input: EventNotificationInput): Promise<NotificationOutcome> {
  const settled = { byFirstAttempt: false };
  try {
    return await notify(input, settled);
  } finally {
    // The one place a notification leaves its order's chain however it ends, a cancel through Temporal (the Web UI)
    // included: non-cancellable, so that the order's next notification is woken even then.
    if (!settled.byFirstAttempt)
      await CancellationScope.nonCancellable(() => chain.settleNotification(workflowInfo().workflowId));
  }
}

async function notify(
  { event }: EventNotificationInput,
  settled: { byFirstAttempt: boolean },
): Promise<NotificationOutcome> {
  const { outcome, completesOrder } = await notifyOnce(event, classify(event), settled);
  // Seed 002: this step completed the order; its "order complete" goes out now, before the order's next notification.
  if (completesOrder && outcome.status !== 'cancelled') {
    const completion = await notifyOnce(completionOf(event), 'order-completed', settled);
    log.info('order completion notified', { orderId: event.orderId, flowId: event.flowId, ...completion.outcome });
  }
  return finish(event, outcome);
}

/** One notification of the event with one template: wait for the predecessor, first attempts, then the rest. */
async function notifyOnce(
  event: OrderEvent,
  template: TemplateId,
  settled: { byFirstAttempt: boolean },
): Promise<{ outcome: NotificationOutcome; completesOrder: boolean }> {
  const run = new NotificationRun(event, template);
  // Counted, not a flag: a predecessor can change (a phantom taken out of the chain), and a wake-up that arrives
  // while the activity looks must not be lost.
  let wakeUps = 0;
  setHandler(predecessorSettledSignal, () => void wakeUps++);
  const { workflowId } = workflowInfo();

  let askTemporal = false;
  let waitingSince: number | undefined;
  let attempt: NotificationAttempt;
  for (;;) {
    const wakeUpsSeen = wakeUps;
    try {
      attempt = await firstAttempt.attemptNotification.executeWithOptions(
        { summary: `${template}: audience, ledger and first attempts` },
        [{ event, template: run.template, workflowId, askTemporal, send: run.cancellation === undefined }],
      );
    } catch (error) {
      await deadLetter(deadLetterOf(event, failureOf(error)));
      return {
        outcome: { status: 'dead_lettered', delivered: 0, suppressed: 0, deadLettered: 1 },
        completesOrder: false,
      };
    }
    if (attempt.kind === 'attempted') break;
    if (attempt.kind === 'held') await run.waitWhileHeld();
    else {
      waitingSince ??= Date.now();
      setCurrentDetails(notificationNow.waiting(attempt.predecessor, waitingSince));
      // A timed-out wait asks Temporal too: a predecessor terminated by an operator never settles.
      askTemporal = !(await condition(() => wakeUps !== wakeUpsSeen, recheckInterval(attempt.recheckAfterS), {
        summary: notificationTimers.predecessorRecheck(attempt.predecessor),
      }));
    }
  }
  settled.byFirstAttempt = attempt.settled;
  const completesOrder = attempt.completesOrder === true;
  const { delivered, suppressed, digested } = attempt;
  const counts = { delivered, suppressed, ...(digested === undefined ? {} : { digested }) };
  if (attempt.settled || (completesOrder && attempt.remaining.length === 0 && attempt.failed.length === 0))
    return {
      outcome: { status: statusOf({ ...counts, deadLettered: 0 }), ...counts, deadLettered: 0 },
      completesOrder,
    };

  const earlier = { ...counts, deadLettered: attempt.failed.length };
  // Results of earlier versions failed only emails here, and named no channel.
  const failed = attempt.failed.map(({ userId, channel = 'email', endpointId, ...failure }) =>
    deadLetter(deadLetterOf(event, failure, { userId, channel, ...(endpointId === undefined ? {} : { endpointId }) })),
  );
  setCurrentDetails(notificationNow.delivering(attempt.remaining));
  const [outcome, ...failedSettled] = await Promise.all([
    run.cancellation === undefined
      ? run.deliver(
          attempt.remaining,
          (input) =>
            email.sendEmail.executeWithOptions(
              { summary: recipientLabel({ channel: 'email', userId: input.userId }) },
              [{ ...input, previousAttempts: 1 }],
            ),
          earlier,
          attempt.providers,
        )
      : run.settleCancelled(earlier),
    ...failed,
  ]);
  return { outcome: recountSuppressedMeanwhile(outcome, failedSettled), completesOrder };
}

/** A failed first attempt whose delivery was suppressed meanwhile (erased, opted out) counts as suppressed. */
function recountSuppressedMeanwhile(
  outcome: NotificationOutcome,
  failedSettled: ('dead_lettered' | 'suppressed')[],
): NotificationOutcome {
  const suppressedMeanwhile = failedSettled.filter((settledAs) => settledAs === 'suppressed').length;
  if (suppressedMeanwhile === 0) return outcome;
  const recounted = {
    ...outcome,
    deadLettered: outcome.deadLettered - suppressedMeanwhile,
    suppressed: outcome.suppressed + suppressedMeanwhile,
  };
  return { ...recounted, status: outcome.status === 'cancelled' ? 'cancelled' : statusOf(recounted) };
}

/** How long a waiting notification waits before it looks at its predecessor again. */
function recheckInterval(recheckAfterS: number | undefined): string | number {
  return recheckAfterS !== undefined ? recheckAfterS * 1000 : predecessorRecheckInterval;
}
