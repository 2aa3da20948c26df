import type { Client } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { cancelNotificationSignal, retryNowSignal } from '../messages.js';
import { NotFound } from './errors.js';
import { type DeliveryRow, type NotificationView, notificationView, runningNotification } from './notifications.js';

export interface EventStatus {
  eventId: string;
  orderId: string;
  customerId: string;
  status: string;
  occurredAt: string;
  notifications: NotificationView[];
}

/** What operators ask of one order event, and the signals they send to its running notification. */
export function eventOperations({ pool, client }: { pool: Pool; client: Client }) {
  async function eventRow(eventId: string) {
    const [rows] = await pool.execute<RowDataPacket[]>(
      'SELECT id, order_id, customer_id, status, occurred_at FROM order_events WHERE id = ?',
      [eventId],
    );
    return rows[0];
  }

  async function running(eventId: string) {
    if ((await eventRow(eventId)) === undefined) throw new NotFound(`there is no event ${eventId}`);
    return runningNotification(client, eventId);
  }

  return {
    /** The event and each of its notifications (its insert's, and any redrive or replay runs): state, recipients. */
    async status(eventId: string): Promise<EventStatus> {
      const event = await eventRow(eventId);
      if (event === undefined) throw new NotFound(`there is no event ${eventId}`);
      const [rows] = await pool.execute<DeliveryRow[]>(
        'SELECT * FROM deliveries WHERE event_id = ? ORDER BY notification_id, user_id, channel, endpoint_id',
        [eventId],
      );
      const ids = [...new Set([String(event.id), ...rows.map((r) => r.notification_id)])];
      return {
        eventId: String(event.id),
        orderId: String(event.order_id),
        customerId: String(event.customer_id),
        status: String(event.status),
        occurredAt: (event.occurred_at as Date).toISOString(),
        notifications: await Promise.all(
          ids.map((id) =>
            notificationView(
              client,
              id,
              rows.filter((r) => r.notification_id === id),
            ),
          ),
        ),
      };
    },

    /** The customer whose order the event is of. */
    async customerOf(eventId: string): Promise<string> {
      const [rows] = await pool.execute<RowDataPacket[]>('SELECT customer_id FROM order_events WHERE id = ?', [
        eventId,
      ]);
      if (rows[0] === undefined) throw new NotFound(`there is no event ${eventId}`);
      return String(rows[0].customer_id);
    },

    /** The notification stops; what was not delivered is recorded as cancelled; the order moves on. */
    async cancel(eventId: string, reason = 'cancelled by an operator'): Promise<void> {
      await (await running(eventId)).signal(cancelNotificationSignal, { reason });
    },

    /** A send that is backing off tries again now. */
    async retry(eventId: string): Promise<void> {
      await (await running(eventId)).signal(retryNowSignal);
    },
  };
}
