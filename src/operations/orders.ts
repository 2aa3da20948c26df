import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { submitOrderEvent } from '../order-chain/submit.js';
import type { OrderEvent } from '../domain.js';
import { NotFound } from './errors.js';

export interface OrderStatus {
  orderId: string;
  customerId: string;
  /** Its notifications still running (sending, or waiting for the one before them), oldest first: workflow ids. */
  running: string[];
  events: { eventId: string; status: string; occurredAt: string; deliveries: Record<string, number> }[];
}

/** A notification asked for directly (no row of `order_events` behind it), for an order of `customerId`. */
export interface DirectNotification {
  orderId: string;
  customerId: string;
  flowId: string;
  eventType: string;
  status: 'success' | 'failure';
  source?: string;
  errorCode?: string | null;
  errorDesc?: string | null;
}

/** Each event of an order with how many of its deliveries are in each state. */
async function eventsOfOrder(pool: Pool, orderId: string): Promise<OrderStatus['events']> {
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
  return [...byEvent.values()];
}

/** What operators ask of one order, and direct notifications to its subscribers. */
export function orderOperations({ pool, client }: { pool: Pool; client: Client }) {
  return {
    async status(orderId: string): Promise<OrderStatus> {
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
      return {
        orderId,
        customerId: String(orders[0].customer_id),
        running: running.map((r) => r.workflowId),
        events: await eventsOfOrder(pool, orderId),
      };
    },

    /** The customer the order is of. */
    async customerOf(orderId: string): Promise<string> {
      const [orders] = await pool.execute<RowDataPacket[]>('SELECT customer_id FROM orders WHERE id = ?', [orderId]);
      if (orders[0] === undefined) throw new NotFound(`there is no order ${orderId}`);
      return String(orders[0].customer_id);
    },

    /**
     * Notifies the order's subscribers without a database change upstream, in order with the order's other events.
     * Returns the notification's id (`api-<uuid>`) and workflow id.
     */
    async notify(input: DirectNotification): Promise<{ notificationId: string; workflowId: string }> {
      const notificationId = `api-${randomUUID()}`;
      const event: OrderEvent = {
        // Not a row of order_events: event id 0, known by its notification id.
        eventId: '0',
        notificationId,
        orderId: input.orderId,
        customerId: input.customerId,
        flowId: input.flowId,
        eventType: input.eventType,
        status: input.status,
        source: input.source ?? 'api',
        executionMs: null,
        errorCode: input.errorCode ?? null,
        errorDesc: input.errorDesc ?? null,
        occurredAt: new Date().toISOString(),
      };
      const { workflowId } = await submitOrderEvent({ client, pool }, event);
      return { notificationId, workflowId };
    },
  };
}
