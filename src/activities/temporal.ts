import type { Client } from '@temporalio/client';
import { type DeadLetter, endpointWorkflowTaskTimeout, workflowIds } from '../domain.js';
import { searchAttributes } from '../search-attributes.js';
import { type WebhookDeliveryAsk, type WebhookDeliveryRequest, webhookDeliverySignal } from '../messages.js';
import type { createWebhookMessages } from './ledger.js';
import { endpointSummary } from '../summaries.js';

/**
 * Signals to Orderly's long-lived workflows, starting them when they are not running (signal-with-start is a
 * client call, which workflow code cannot make). Workflows are named by their type, as the worker registers
 * them: activities import the messages, never a workflow module.
 */
export function createTemporalActivities({
  client,
  taskQueue,
  webhookMessages,
}: {
  client: Client;
  taskQueue: string;
  webhookMessages: ReturnType<typeof createWebhookMessages>;
}) {
  /** Queues the delivery with its endpoint's workflow, starting it when it is not running. */
  async function queueWithEndpoint(request: WebhookDeliveryRequest, customerId: string): Promise<void> {
    await client.workflow.signalWithStart('webhookEndpointWorkflow', {
      workflowId: workflowIds.webhookEndpoint(request.endpointId),
      taskQueue,
      args: [{ endpointId: request.endpointId }],
      signal: webhookDeliverySignal,
      signalArgs: [request],
      workflowTaskTimeout: endpointWorkflowTaskTimeout,
      typedSearchAttributes: [{ key: searchAttributes.customerId, value: customerId }],
      staticSummary: endpointSummary(request.endpointId),
    });
  }

  return {
    /**
     * Did hand a failed notification to the retired `dead-letters` workflow; kept, doing nothing, for notifications
     * started before (see `deadLettersInTableOnly` in workflows/dead-lettering.ts). The table is the record.
     */
    reportDeadLetter(_deadLetter: DeadLetter): Promise<void> {
      return Promise.resolve();
    },

    /**
     * Stores the delivery's content (`webhook_messages`), then queues the delivery with the endpoint's workflow, which
     * answers with a result signal: the endpoint's history names the message, never its event.
     */
    async requestWebhookDelivery({ event, template, ...ask }: WebhookDeliveryAsk): Promise<void> {
      await webhookMessages.store({ event, template, ...ask });
      await queueWithEndpoint(ask, event.customerId);
    },

    /** A digest's delivery to its endpoint: the message names the digest, whose events `digest_items` holds. */
    async requestDigestWebhook({
      digestId,
      customerId,
      ...request
    }: WebhookDeliveryRequest & { digestId: string; customerId: string }): Promise<void> {
      await webhookMessages.storeDigest({ messageId: request.messageId, endpointId: request.endpointId, digestId });
      await queueWithEndpoint(request, customerId);
    },
  };
}
