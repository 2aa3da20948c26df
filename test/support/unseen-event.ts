import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { runDir } from '../../stack/paths.js';

/**
 * Inserts a success event for the order with the binlog off (as root, over the stack's socket), so the CDC
 * never sees it: an event Orderly missed, or one only a test hands to a workflow. Returns its id.
 */
export async function insertEventUnseenByCdc(orderId: string, customerId: string): Promise<string> {
  const root = await mysql.createConnection({
    socketPath: join(runDir, 'mariadb.sock'),
    user: 'root',
    database: 'orderly',
  });
  try {
    await root.query('SET sql_log_bin = 0');
    const [inserted] = await root.execute<mysql.ResultSetHeader>(
      "INSERT INTO order_events (order_id, customer_id, flow_id, event_type, status, source) VALUES (?, ?, 'F1063', 'order.step.completed', 'success', 'missed-by-cdc')",
      [orderId, customerId],
    );
    return String(inserted.insertId);
  } finally {
    await root.end();
  }
}
