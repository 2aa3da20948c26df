import {
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  type OrderEvent,
  type QueuedEvent,
  compactQueue,
  isEventRef,
  notificationRunKey,
  workflowIds,
} from '../domain.js';
import { startingSearchAttributes } from '../search-attributes.js';
import { activityFailureCause } from './failures.js';
import { orderEventSignal, pendingEventsQuery } from './messages.js';
import { notificationWorkflow } from './notification.js';
import { deadLetter, deadLetterOf } from './dead-lettering.js';
import { preferences } from './proxies.js';

export interface OrderWorkflowInput {
  orderId: string;
  /** Carried over continue-as-new: events received but not yet notified, in arrival order (some by reference). */
  pending?: QueuedEvent[];
  /** Carried over continue-as-new: the newest notification ids already accepted, to drop Kafka redeliveries. */
  seenEventIds?: string[];
}

/** An order with no new event for this long completes; its next event starts a new run. */
const idleTimeout = '10 minutes';
/**
 * Continue as new well before the server suggests it (about 4,000 events): a worker that lost the order
 * from its cache replays the whole history, and a few thousand events took longer than a workflow task may.
 */
const maxHistoryEvents = 600;
/**
 * Whole events carried over continue-as-new, at most (JSON bytes); the rest go by reference. Far below
 * Temporal's 2 MB payload limit, which a burst of a few thousand events for one order would otherwise pass.
 */
const carriedEventsBudgetBytes = 256 * 1024;
/** Redeliveries arrive close to the original; the ledger and child ids catch anything older. */
const seenWindow = 1_000;

/**
 * The previous design's per-order workflow (id `order:<orderId>`): received the order's events by signal and
 * notified them one at a time, each as a child workflow. Nothing starts it any more; it stays registered,
 * unchanged, until the runs started before the per-event design are drained (a new notification of such an
 * order waits until its queue is empty).
 */
export async function orderWorkflow(input: OrderWorkflowInput): Promise<void> {
  const pending = [...(input.pending ?? [])];
  const seen = new Set(input.seenEventIds ?? []);

  setHandler(orderEventSignal, (event) => {
    const key = notificationRunKey(event);
    if (seen.has(key)) return;
    seen.add(key);
    if (seen.size > seenWindow) seen.delete(seen.values().next().value!);
    pending.push(event);
  });
  setHandler(pendingEventsQuery, () => pending.map(notificationRunKey));

  for (;;) {
    // Only an idle order needs the idle timer; a queued event goes straight on (no timer in history).
    // Runs started before this change always started the timer: the patch keeps their replay identical.
    if (pending.length === 0 || !patched('idle-timer-only-when-idle'))
      await condition(() => pending.length > 0, idleTimeout);
    if (pending.length === 0) return;
    await notify(pending[0]!);
    pending.shift();
    if (
      workflowInfo().continueAsNewSuggested ||
      (workflowInfo().historyLength > maxHistoryEvents && patched('continue-as-new-at-max-history'))
    ) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof orderWorkflow>({
        orderId: input.orderId,
        pending: compactQueue(pending, carriedEventsBudgetBytes),
        seenEventIds: [...seen],
      });
    }
  }
}

async function notify(queued: QueuedEvent): Promise<void> {
  let event: OrderEvent;
  try {
    event = isEventRef(queued) ? await preferences.loadQueuedEvent(queued) : queued;
  } catch (error) {
    const cause = activityFailureCause(error);
    if (cause === undefined) throw error;
    await recordFailure(queued, cause, 'UnknownEvent');
    return;
  }
  try {
    await executeChild(notificationWorkflow, {
      workflowId: workflowIds.notification(notificationRunKey(event)),
      args: [event],
      // A notification that already ran (a redelivery older than the seen window) is not run again.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: startingSearchAttributes(event),
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return;
    if (!(error instanceof ChildWorkflowFailure)) throw error;
    // The notification workflow dead-letters its own failures; reaching here means it failed outright
    // (terminated, timed out): record that too, so the event is accounted for and the order moves on.
    await recordFailure(event, error.cause ?? error, 'NotificationFailed');
  }
}

async function recordFailure(
  event: Pick<OrderEvent, 'eventId' | 'notificationId' | 'orderId' | 'customerId'>,
  cause: Error,
  defaultType: string,
): Promise<void> {
  await deadLetter(
    deadLetterOf(event, {
      errorType: cause instanceof ApplicationFailure ? (cause.type ?? defaultType) : defaultType,
      message: cause.message,
      attempts: 1,
    }),
  );
}
