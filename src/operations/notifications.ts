import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { workflowIds } from '../domain.js';
import { searchAttributes } from '../search-attributes.js';
import { cancelNotificationSignal, retryNowSignal } from '../workflows/messages.js';
import { Conflict, NotFound } from './errors.js';

export interface DeliveryView {
  userId: string;
  channel: string;
  endpointId: string | null;
  recipient: string | null;
  state: string;
  reason: string | null;
  attempts: number;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface NotificationView {
  notificationId: string;
  workflowId: string;
  /** The workflow's execution status (RUNNING, COMPLETED, ...), or `unknown` once Temporal no longer keeps it. */
  workflow: string;
  /** The NotificationStatus search attribute: processing, held, delivered, suppressed, dead_lettered, cancelled. */
  state: string | null;
  /** A send that is retrying right now: its attempt number and what failed last. */
  retrying: { activity: string; attempt: number; lastFailure: string | null }[];
  deliveries: DeliveryView[];
}

export interface EventStatus {
  eventId: string;
  orderId: string;
  customerId: string;
  status: string;
  occurredAt: string;
  notifications: NotificationView[];
}

export interface OrderStatus {
  orderId: string;
  customerId: string;
  /** Its notifications still running (sending, or waiting for the one before them), oldest first: workflow ids. */
  running: string[];
  events: { eventId: string; status: string; occurredAt: string; deliveries: Record<string, number> }[];
}

interface DeliveryRow extends RowDataPacket {
  notification_id: string;
  user_id: string;
  channel: string;
  endpoint_id: string;
  recipient: string | null;
  state: string;
  reason: string | null;
  attempts: number;
  last_error: string | null;
  delivered_at: Date | null;
}

/** What operators ask of one event or order, and the signals they send to a running notification. */
export function notificationOperations({ pool, client }: { pool: Pool; client: Client }) {
  async function describe(workflowId: string) {
    try {
      return await client.workflow.getHandle(workflowId).describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  async function notificationView(notificationId: string, rows: DeliveryRow[]): Promise<NotificationView> {
    const workflowId = workflowIds.notification(notificationId);
    const description = await describe(workflowId);
    return {
      notificationId,
      workflowId,
      workflow: description?.status.name ?? 'unknown',
      state: description?.typedSearchAttributes.get(searchAttributes.notificationStatus) ?? null,
      retrying: (description?.raw.pendingActivities ?? [])
        .filter((activity) => (activity.attempt ?? 1) > 1)
        .map((activity) => ({
          activity: activity.activityType?.name ?? 'activity',
          attempt: activity.attempt ?? 1,
          lastFailure: activity.lastFailure?.message ?? null,
        })),
      deliveries: rows.map((row) => ({
        userId: String(row.user_id),
        channel: row.channel,
        endpointId: String(row.endpoint_id) === '0' ? null : String(row.endpoint_id),
        recipient: row.recipient,
        state: row.state,
        reason: row.reason,
        attempts: row.attempts,
        lastError: row.last_error,
        deliveredAt: row.delivered_at?.toISOString() ?? null,
      })),
    };
  }

  async function eventRow(eventId: string) {
    const [rows] = await pool.execute<RowDataPacket[]>(
      'SELECT id, order_id, customer_id, status, occurred_at FROM order_events WHERE id = ?',
      [eventId],
    );
    return rows[0];
  }

  /** The running notification of an event (its insert's; a status change has a notification of its own). */
  async function runningNotification(eventId: string) {
    if ((await eventRow(eventId)) === undefined) throw new NotFound(`there is no event ${eventId}`);
    const handle = client.workflow.getHandle(workflowIds.notification(eventId));
    const description = await describe(handle.workflowId);
    if (description === undefined)
      throw new Conflict(
        `event ${eventId} has no notification workflow (not ingested yet, or no longer kept by Temporal)`,
      );
    if (description.status.name !== 'RUNNING')
      throw new Conflict(
        `the notification of event ${eventId} is already finished (${description.typedSearchAttributes.get(searchAttributes.notificationStatus) ?? description.status.name})`,
      );
    return handle;
  }

  return {
    async eventStatus(eventId: string): Promise<EventStatus> {
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
              id,
              rows.filter((r) => r.notification_id === id),
            ),
          ),
        ),
      };
    },

    async orderStatus(orderId: string): Promise<OrderStatus> {
      const [orders] = await pool.execute<RowDataPacket[]>('SELECT id, customer_id FROM orders WHERE id = ?', [
        orderId,
      ]);
      if (orders[0] === undefined) throw new NotFound(`there is no order ${orderId}`);
      // From the visibility store, which answers without a workflow worker.
      const running: { workflowId: string; startTime: Date }[] = [];
      for await (const execution of client.workflow.list({
        query: `OrderId = '${String(orders[0].id)}' AND ExecutionStatus = 'Running'`,
      }))
        running.push(execution);
      running.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
      const [events] = await pool.execute<RowDataPacket[]>(
        `SELECT e.id, e.status, e.occurred_at, d.state, COUNT(d.id) AS n
           FROM order_events e LEFT JOIN deliveries d ON d.event_id = e.id
          WHERE e.order_id = ? GROUP BY e.id, d.state ORDER BY e.id`,
        [orderId],
      );
      const byEvent = new Map<string, OrderStatus['events'][number]>();
      for (const row of events) {
        const id = String(row.id);
        const entry = byEvent.get(id) ?? {
          eventId: id,
          status: String(row.status),
          occurredAt: (row.occurred_at as Date).toISOString(),
          deliveries: {},
        };
        if (row.state !== null) entry.deliveries[String(row.state)] = Number(row.n);
        byEvent.set(id, entry);
      }
      return {
        orderId,
        customerId: String(orders[0].customer_id),
        running: running.map((r) => r.workflowId),
        events: [...byEvent.values()],
      };
    },

    /** The notification stops; what was not delivered is recorded as cancelled; the order moves on. */
    async cancel(eventId: string, reason = 'cancelled by an operator'): Promise<void> {
      await (await runningNotification(eventId)).signal(cancelNotificationSignal, { reason });
    },

    /** A send that is backing off tries again now. */
    async retry(eventId: string): Promise<void> {
      await (await runningNotification(eventId)).signal(retryNowSignal);
    },
  };
}
