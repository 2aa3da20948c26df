import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered by the local stack (`stack:up`) and docker-compose; operators filter on them in the Web UI. */
export const searchAttributes = {
  orderId: defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD),
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  eventId: defineSearchAttributeKey('EventId', SearchAttributeType.KEYWORD),
  notificationStatus: defineSearchAttributeKey('NotificationStatus', SearchAttributeType.KEYWORD),
} as const;

export type NotificationStatus = 'processing' | 'held' | 'delivered' | 'suppressed' | 'dead_lettered' | 'cancelled';
