import { condition, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import type { NotificationAttempt } from '../activities/first-attempt.js';
import { type OrderEvent, type Predecessor, classify } from '../domain.js';
import { predecessorSettledSignal, successorWaitingSignal } from './messages.js';
import { type NotificationOutcome, NotificationRun, deadLetter, deadLetterOf, failureOf, finish } from './notification-run.js';
import { email, firstAttempt } from './proxies.js';

export interface EventNotificationInput {
  event: OrderEvent;
  /** The order's previous notification (absent for an order's first): this one starts after it settles. */
  predecessor?: Predecessor;
}

/** A notification waiting for its predecessor looks again this often, in case the settled signal never came. */
const predecessorRecheckInterval = '1 minute';
/** A predecessor submitted moments ago but not started yet is looked for again this soon. */
const notStartedRecheckInterval = '2 seconds';

/**
 * One notification (id `notification:<eventId>`, or `notification:<eventId>@<binlog position>` for a status
 * change), started by whoever submits the event, with the id of the order's previous notification. It waits
 * until that one has settled, so an order's notifications go out in commit order; then it classifies the
 * event, finds the audience, records it and sends, the happy path all in one local activity. What fails in a
 * way that may pass is retried durably; what fails for good is dead-lettered. When it settles it tells the
 * order's next notification, if that one is waiting.
 */
export async function eventNotificationWorkflow({ event, predecessor }: EventNotificationInput): Promise<NotificationOutcome> {
  const run = new NotificationRun(event, classify(event));
  const successors = new Set<string>();
  let predecessorSettled = false;
  setHandler(successorWaitingSignal, (workflowId) => void successors.add(workflowId));
  setHandler(predecessorSettledSignal, () => void (predecessorSettled = true));
  try {
    return finish(event, await notify(run, predecessor, () => predecessorSettled));
  } finally {
    await releaseSuccessors(successors);
  }
}

/**
 * Signals every notification waiting for this one, including any that registered meanwhile. Awaited: the server
 * drops a signal whose sender completed before it was delivered. One registering after this is seen by the
 * server, which then refuses the completion and hands the workflow its signal first.
 */
async function releaseSuccessors(successors: Set<string>): Promise<void> {
  const released = new Set<string>();
  while (released.size < successors.size) {
    const next = [...successors].filter((id) => !released.has(id));
    for (const id of next) released.add(id);
    // A successor that is gone (terminated by an operator) has nothing to wait for.
    await Promise.all(next.map((id) => getExternalWorkflowHandle(id).signal(predecessorSettledSignal).catch(() => undefined)));
  }
}

async function notify(run: NotificationRun, predecessor: Predecessor | undefined, predecessorSettled: () => boolean): Promise<NotificationOutcome> {
  const { event, template } = run;
  let waitingFor = predecessor;
  let registered = false;
  let attempt: NotificationAttempt;
  for (;;) {
    try {
      attempt = await firstAttempt.attemptNotification({ event, template, predecessor: waitingFor, send: run.cancellation === undefined });
    } catch (error) {
      await deadLetter(failureOf(error, event));
      return { status: 'dead_lettered', delivered: 0, suppressed: 0, deadLettered: 1 };
    }
    if (attempt.kind === 'attempted') break;
    if (attempt.kind === 'held') {
      waitingFor = undefined;
      await run.waitWhileHeld();
    } else if (attempt.predecessor === 'running' && !registered) {
      // A predecessor that finished meanwhile cannot be signalled: then look again at once.
      registered = await tellPredecessor(waitingFor!.workflowId);
    } else {
      await condition(predecessorSettled, attempt.predecessor === 'running' ? predecessorRecheckInterval : notStartedRecheckInterval);
      if (predecessorSettled()) waitingFor = undefined;
    }
  }
  const earlier = { delivered: attempt.delivered, suppressed: attempt.suppressed, deadLettered: attempt.failed.length };
  if (run.cancellation !== undefined) return run.settleCancelled(earlier);
  const failed = attempt.failed.map(({ userId, ...failure }) => deadLetter({ ...deadLetterOf(event, failure), userId, channel: 'email' }));
  const [outcome] = await Promise.all([run.deliver(attempt.remaining, (input) => email.sendEmail({ ...input, previousAttempts: 1 }), earlier), ...failed]);
  return outcome;
}

/** Asks the predecessor to signal this workflow when it settles; false when it is no longer running. */
async function tellPredecessor(workflowId: string): Promise<boolean> {
  try {
    await getExternalWorkflowHandle(workflowId).signal(successorWaitingSignal, workflowInfo().workflowId);
    return true;
  } catch {
    return false;
  }
}
