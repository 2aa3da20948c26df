import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Pool } from 'mysql2/promise';
import { appendToChain } from '../db/notification-chain.js';
import { type OrderEvent, notificationRunKey, taskQueues, workflowIds } from '../domain.js';
import { startingSearchAttributes } from '../search-attributes.js';
import type { EventNotificationInput } from '../workflows/event-notification.js';

/**
 * Starts the notification of one event (`notification:<id>`), chained behind the order's previous notification
 * so that it goes out after it. The one way events enter Temporal: the ingest for new rows, the API for direct
 * notifications, operators' redrives and replays for old ones. A notification that already ran or runs (a Kafka
 * redelivery) is not started again. Returns its workflow id.
 */
export async function submitOrderEvent(
  { client, pool }: { client: Client; pool: Pool },
  event: OrderEvent,
): Promise<string> {
  const workflowId = workflowIds.notification(notificationRunKey(event));
  // An order's first notification since the per-event design waits for the previous design's order workflow.
  const predecessor = (await appendToChain(pool, event.orderId, workflowId)) ?? workflowIds.order(event.orderId);
  try {
    await client.workflow.start('eventNotificationWorkflow', {
      workflowId,
      taskQueue: taskQueues.workflows,
      args: [{ event, predecessor } satisfies EventNotificationInput],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: startingSearchAttributes(event),
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return workflowId;
}
