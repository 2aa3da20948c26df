import type { OrderEvent } from '../../src/domain.js';

/** An order event as the ingest builds it (a failure of order 7, customer 3), with `fields` replaced. */
export const orderEvent = (fields: Partial<OrderEvent> = {}): OrderEvent => ({
  eventId: '42',
  notificationId: '42',
  orderId: '7',
  customerId: '3',
  flowId: 'F1063',
  eventType: 'order.step.failed',
  status: 'failure',
  source: 'checkout-service',
  executionMs: 1500,
  errorCode: 'E500',
  errorDesc: 'card declined',
  occurredAt: '2026-11-21T07:00:00.000Z',
  ...fields,
});
