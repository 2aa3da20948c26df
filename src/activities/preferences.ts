import { ApplicationFailure } from '@temporalio/activity';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { type OrderEvent, type Recipient, type Suppression, permanentErrors } from '../domain.js';

export interface AudienceOfEvent {
  recipients: Recipient[];
  suppressed: Suppression[];
}

/** One subscription of one user, as the lookup reads it. */
export interface Subscription {
  user_id: string;
  username: string;
  email: string | null;
  flow_id: string | null;
  on_success: number;
  on_failure: number;
  channel: 'email';
  muted: number;
}

type SubscriptionRow = Subscription & RowDataPacket;

/**
 * Reads who wants to hear about an event. Every user of the event's customer who has a subscription gets
 * a decision: a matching, unmuted subscription makes a recipient; otherwise the user is suppressed, with why.
 */
export function createPreferenceActivities({ pool }: { pool: Pool }) {
  return {
    async findAudience(event: OrderEvent): Promise<AudienceOfEvent> {
      const [orders] = await pool.execute<RowDataPacket[]>('SELECT customer_id FROM orders WHERE id = ?', [event.orderId]);
      if (orders.length === 0) {
        throw ApplicationFailure.nonRetryable(`order ${event.orderId} does not exist`, permanentErrors.unknownOrder);
      }
      const [rows] = await pool.execute<SubscriptionRow[]>(
        `SELECT u.id AS user_id, u.username, u.email, s.flow_id, s.on_success, s.on_failure, s.channel, s.muted
           FROM users u JOIN subscriptions s ON s.user_id = u.id
          WHERE u.customer_id = ?
          ORDER BY u.id, s.id`,
        [event.customerId],
      );
      return decideAudience(event, rows);
    },
  };
}

/** Pure decision per (user, channel): exported for unit tests. */
export function decideAudience(event: Pick<OrderEvent, 'flowId' | 'status'>, rows: Subscription[]): AudienceOfEvent {
  const byUserChannel = new Map<string, Subscription[]>();
  for (const row of rows) {
    const key = `${row.user_id}/${row.channel}`;
    byUserChannel.set(key, [...(byUserChannel.get(key) ?? []), row]);
  }
  const audience: AudienceOfEvent = { recipients: [], suppressed: [] };
  for (const subscriptions of byUserChannel.values()) {
    const first = subscriptions[0]!;
    const forFlow = subscriptions.filter((s) => s.flow_id === null || s.flow_id === event.flowId);
    const forStatus = forFlow.filter((s) => (event.status === 'success' ? s.on_success : s.on_failure));
    const active = forStatus.filter((s) => !s.muted);
    if (active.length > 0) {
      audience.recipients.push({ userId: String(first.user_id), username: first.username, email: first.email, channel: first.channel });
      continue;
    }
    const reason =
      forFlow.length === 0 ? `not subscribed to flow ${event.flowId}`
      : forStatus.length === 0 ? `not subscribed to ${event.status} events`
      : 'muted';
    audience.suppressed.push({ userId: String(first.user_id), channel: first.channel, reason });
  }
  return audience;
}
