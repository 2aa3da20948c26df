/** Everything the workflow worker bundles. */
export { deadLettersWorkflow } from './dead-letters.js';
export { eventNotificationWorkflow } from './event-notification.js';
// The previous design's order and notification workflows, registered until the runs they started are drained.
export { notificationWorkflow } from './notification.js';
export { orderWorkflow } from './order.js';
export { webhookEndpointWorkflow } from './webhook-endpoint.js';
