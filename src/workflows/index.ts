/** Everything the workflow worker bundles. */
export { deadLettersWorkflow } from './dead-letters.js';
export { eventNotificationWorkflow } from './event-notification.js';
export { webhookEndpointWorkflow } from './webhook-endpoint.js';
