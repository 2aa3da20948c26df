import type { Pool, RowDataPacket } from 'mysql2/promise';
import { jsonColumn } from '../db/pool.js';
import { type OrderEvent, notificationKey } from '../domain.js';

/**
 * Completion aggregation (seed 002) on MySQL: whether an event's success completes its order, that is whether every
 * step its flow names (`flow_completions`) has now succeeded for the order. An order's notifications run one after
 * another, so the one that finds the set complete is the first whose step completes it; `order_completions` keeps
 * that, so "order complete" goes out once however often a step is reported or an attempt runs again.
 */
export function createCompletionActivities({ pool }: { pool: Pool }) {
  return {
    /** True when this event's notification is the one that sends its order's "order complete". */
    async completesOrder(event: OrderEvent): Promise<boolean> {
      // A notification made through the API (event 0) is no step of the order.
      if (event.status !== 'success' || event.eventId === '0') return false;
      const [flows] = await pool.execute<RowDataPacket[]>(
        'SELECT steps FROM flow_completions WHERE customer_id = ? AND flow_id = ?',
        [event.customerId, event.flowId],
      );
      const steps = jsonColumn<string[] | undefined>(flows[0]?.steps) ?? [];
      if (!steps.includes(event.eventType)) return false;
      const [succeeded] = await pool.query<RowDataPacket[]>(
        `SELECT COUNT(DISTINCT event_type) AS n FROM order_events
          WHERE order_id = ? AND flow_id = ? AND status = 'success' AND event_type IN (?) AND id <= ?`,
        [event.orderId, event.flowId, steps, event.eventId],
      );
      if (Number(succeeded[0]?.n ?? 0) < new Set(steps).size) return false;
      const key = notificationKey(event);
      await pool.execute('INSERT IGNORE INTO order_completions (order_id, flow_id, notification_id) VALUES (?, ?, ?)', [
        event.orderId,
        event.flowId,
        key,
      ]);
      const [completed] = await pool.execute<RowDataPacket[]>(
        'SELECT notification_id FROM order_completions WHERE order_id = ? AND flow_id = ?',
        [event.orderId, event.flowId],
      );
      return completed[0]?.notification_id === key;
    },
  };
}
