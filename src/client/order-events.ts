import type { Client } from '@temporalio/client';
import { type OrderEvent, taskQueues, workflowIds } from '../domain.js';
import { searchAttributes } from '../search-attributes.js';
import { orderEventSignal, orderWorkflow } from '../workflows/order.js';

/**
 * Hands one event to its order's workflow (`order:<orderId>`), starting the workflow if it is not running.
 * The one way events enter Temporal: the ingest for new rows, operators' redrives and replays for old ones.
 */
export async function submitOrderEvent(client: Client, event: OrderEvent): Promise<void> {
  await client.workflow.signalWithStart(orderWorkflow, {
    workflowId: workflowIds.order(event.orderId),
    taskQueue: taskQueues.workflows,
    args: [{ orderId: event.orderId }],
    signal: orderEventSignal,
    signalArgs: [event],
    typedSearchAttributes: [
      { key: searchAttributes.orderId, value: event.orderId },
      { key: searchAttributes.customerId, value: event.customerId },
    ],
  });
}
