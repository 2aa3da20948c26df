import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered by the local stack (`stack:up`) and docker-compose; operators filter on them in the Web UI. */
export const searchAttributes = {
  orderId: defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD),
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  eventId: defineSearchAttributeKey('EventId', SearchAttributeType.KEYWORD),
  notificationStatus: defineSearchAttributeKey('NotificationStatus', SearchAttributeType.KEYWORD),
  /** A digest's recipient, channel and flow scope (`DigestRule.key`): every window of one recipient's digests. */
  digestKey: defineSearchAttributeKey('DigestKey', SearchAttributeType.KEYWORD),
} as const;

/** The same keys as plain name/type pairs, for what registers them: `stack:up` and docker-compose (checked equal). */
export const searchAttributeList: readonly { name: string; type: SearchAttributeType }[] = Object.values(
  searchAttributes,
).map(({ name, type }) => ({ name, type }));

export type NotificationStatus =
  'processing' | 'held' | 'quiet' | 'digested' | 'delivered' | 'suppressed' | 'dead_lettered' | 'cancelled';

/** What a notification workflow starts with: its order, customer and event, and the status `processing`. */
export function startingSearchAttributes(event: { orderId: string; customerId: string; eventId: string }) {
  return [
    { key: searchAttributes.orderId, value: event.orderId },
    { key: searchAttributes.customerId, value: event.customerId },
    { key: searchAttributes.eventId, value: event.eventId },
    { key: searchAttributes.notificationStatus, value: 'processing' satisfies NotificationStatus },
  ];
}
