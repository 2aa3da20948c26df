import type { Pool, RowDataPacket } from 'mysql2/promise';
import { type OrderEvent, truncateErrorDesc } from '../domain.js';

interface OrderEventRow extends RowDataPacket {
  id: string;
  order_id: string;
  customer_id: string;
  flow_id: string;
  event_type: string;
  status: 'success' | 'failure';
  source: string;
  execution_ms: number | null;
  error_code: string | null;
  error_desc: string | null;
  occurred_at: Date;
}

const columns =
  'id, order_id, customer_id, flow_id, event_type, status, source, execution_ms, error_code, error_desc, occurred_at';

/** `order_events` rows as the notification workflow takes them (what the ingest builds from Debezium's copy). */
function toOrderEvent(row: OrderEventRow): OrderEvent {
  return {
    eventId: String(row.id),
    notificationId: String(row.id),
    orderId: String(row.order_id),
    customerId: String(row.customer_id),
    flowId: row.flow_id,
    eventType: row.event_type,
    status: row.status,
    source: row.source,
    executionMs: row.execution_ms,
    errorCode: row.error_code,
    errorDesc: truncateErrorDesc(row.error_desc),
    occurredAt: row.occurred_at.toISOString(),
  };
}

export async function loadOrderEvent(pool: Pool, eventId: string): Promise<OrderEvent | undefined> {
  const [rows] = await pool.execute<OrderEventRow[]>(`SELECT ${columns} FROM order_events WHERE id = ?`, [eventId]);
  return rows[0] === undefined ? undefined : toOrderEvent(rows[0]);
}

/** The events that occurred in [from, to), oldest first. */
export async function orderEventsBetween(pool: Pool, from: Date, to: Date): Promise<OrderEvent[]> {
  const [rows] = await pool.query<OrderEventRow[]>(
    `SELECT ${columns} FROM order_events WHERE occurred_at >= ? AND occurred_at < ? ORDER BY id`,
    [from, to],
  );
  return rows.map(toOrderEvent);
}
