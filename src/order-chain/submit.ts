import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Pool } from 'mysql2/promise';
import { settleAndWake } from './settle.js';
import { appendToChain } from './store.js';
import { type OrderEvent, notificationRunKey, taskQueues, workflowIds } from '../domain.js';
import { startingSearchAttributes } from '../search-attributes.js';
import { notificationDetails, notificationSummary } from '../summaries.js';
import type { EventNotificationInput } from '../workflows/event-notification.js';

/**
 * Starts the notification of one event (`notification:<id>`), chained behind the order's previous notification
 * so that it goes out after it. The one way events enter Temporal: the ingest for new rows, the API for direct
 * notifications, operators' redrives and replays for old ones. A notification that already ran or runs (a Kafka
 * redelivery) is not started again. Returns its workflow id, and whether this call started it.
 */
export async function submitOrderEvent(
  { client, pool }: { client: Client; pool: Pool },
  event: OrderEvent,
): Promise<{ workflowId: string; started: boolean }> {
  const workflowId = workflowIds.notification(notificationRunKey(event));
  const predecessor = await appendToChain(pool, event.orderId, workflowId);
  try {
    await client.workflow.start('eventNotificationWorkflow', {
      workflowId,
      taskQueue: taskQueues.workflows,
      args: [{ event, predecessor } satisfies EventNotificationInput],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: startingSearchAttributes(event),
      staticSummary: notificationSummary(event),
      staticDetails: notificationDetails(event, predecessor),
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    // Nobody may wait for a workflow that was never started: once Temporal says it does not exist, its successors
    // go on, and a retry appends it anew. A start whose outcome is unknown is left to the successors' recheck.
    if (await neverStarted(client, workflowId)) await settleAndWake({ pool, client }, workflowId, { abandoned: true });
    throw error;
  }
  return { workflowId, started: true };
}

async function neverStarted(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return false;
  } catch (error) {
    return error instanceof WorkflowNotFoundError;
  }
}
