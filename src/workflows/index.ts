/** Everything the workflow worker bundles. */
export { eventNotificationWorkflow } from './event-notification.js';
export { webhookEndpointWorkflow } from './webhook-endpoint.js';
export { digestWorkflow } from './digest.js';
