/** Everything the workflow worker bundles. */
export { deadLettersWorkflow } from './dead-letters.js';
export { notificationWorkflow } from './notification.js';
export { orderWorkflow } from './order.js';
export { webhookEndpointWorkflow } from './webhook-endpoint.js';
