import type { Client } from '@temporalio/client';
import { type DeadLetter, workflowIds } from '../domain.js';
import { searchAttributes } from '../search-attributes.js';
import { type WebhookDeliveryRequest, deadLetterSignal, webhookDeliverySignal } from '../workflows/messages.js';

/**
 * Signals to Orderly's long-lived workflows, starting them when they are not running (signal-with-start is a
 * client call, which workflow code cannot make). Workflows are named by their type, as the worker registers
 * them: activities import the messages, never a workflow module.
 */
export function createTemporalActivities({ client, taskQueue }: { client: Client; taskQueue: string }) {
  return {
    /** Hands a failed notification to the `dead-letters` workflow. */
    async reportDeadLetter(deadLetter: DeadLetter): Promise<void> {
      await client.workflow.signalWithStart('deadLettersWorkflow', {
        workflowId: workflowIds.deadLetters,
        taskQueue,
        args: [{ entries: [] }],
        signal: deadLetterSignal,
        signalArgs: [deadLetter],
      });
    },

    /** Queues a webhook delivery with the endpoint's workflow, which answers with a result signal. */
    async requestWebhookDelivery(request: WebhookDeliveryRequest): Promise<void> {
      await client.workflow.signalWithStart('webhookEndpointWorkflow', {
        workflowId: workflowIds.webhookEndpoint(request.endpointId),
        taskQueue,
        args: [{ endpointId: request.endpointId }],
        signal: webhookDeliverySignal,
        signalArgs: [request],
        typedSearchAttributes: [{ key: searchAttributes.customerId, value: request.event.customerId }],
      });
    },
  };
}
