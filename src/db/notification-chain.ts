import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Predecessor } from '../domain.js';

/**
 * Makes `workflowId` the order's newest notification and returns the one it follows (undefined for the
 * order's first). One statement swaps the chain's end, so submitters in several processes get a single
 * chain; asking again for the same workflow id returns the same predecessor (a retried submission).
 * The old end is read back through session variables, which the statement sets while it holds the row.
 */
export async function appendToChain(pool: Pool, orderId: string, workflowId: string): Promise<Predecessor | undefined> {
  const connection = await pool.getConnection();
  try {
    await connection.query('SET @previous_id = NULL, @previous_ms = NULL');
    await connection.query(
      `INSERT INTO notification_chain (order_id, last_workflow_id, last_submitted_ms) VALUES (?, ?, ?)
       ON DUPLICATE KEY UPDATE
         previous_workflow_id = (@previous_id := IF(last_workflow_id = VALUES(last_workflow_id), previous_workflow_id, last_workflow_id)),
         previous_submitted_ms = (@previous_ms := IF(last_workflow_id = VALUES(last_workflow_id), previous_submitted_ms, last_submitted_ms)),
         last_submitted_ms = IF(last_workflow_id = VALUES(last_workflow_id), last_submitted_ms, VALUES(last_submitted_ms)),
         last_workflow_id = VALUES(last_workflow_id)`,
      [orderId, workflowId, Date.now()],
    );
    const [rows] = await connection.query<RowDataPacket[]>('SELECT @previous_id AS workflow_id, @previous_ms AS submitted_ms');
    const previous = rows[0];
    if (previous?.workflow_id == null) return undefined;
    return { workflowId: String(previous.workflow_id), submittedAtMs: Number(previous.submitted_ms) };
  } finally {
    connection.release();
  }
}
