import type { Pool, RowDataPacket } from 'mysql2/promise';

/**
 * Makes `workflowId` the order's newest notification and returns the workflow id of the one it follows
 * (undefined for the order's first), recording the pair in `notification_runs`. One statement swaps the chain's
 * end, so submitters in several processes build a single chain; asking again for the same workflow id returns
 * the same predecessor (a retried submission). The old end is read back through session variables, which the
 * statement sets while it holds the row.
 */
export async function appendToChain(pool: Pool, orderId: string, workflowId: string): Promise<string | undefined> {
  const connection = await pool.getConnection();
  try {
    await connection.query('SET @previous_id = NULL');
    await connection.query(
      `INSERT INTO notification_chain (order_id, last_workflow_id) VALUES (?, ?)
       ON DUPLICATE KEY UPDATE
         previous_workflow_id = (@previous_id := IF(last_workflow_id = VALUES(last_workflow_id), previous_workflow_id, last_workflow_id)),
         last_workflow_id = VALUES(last_workflow_id)`,
      [orderId, workflowId],
    );
    const [rows] = await connection.query<RowDataPacket[]>('SELECT @previous_id AS workflow_id');
    const predecessor = rows[0]?.workflow_id == null ? undefined : String(rows[0].workflow_id);
    await connection.query(
      'INSERT IGNORE INTO notification_runs (workflow_id, predecessor_workflow_id) VALUES (?, ?)',
      [workflowId, predecessor ?? null],
    );
    return predecessor;
  } finally {
    connection.release();
  }
}

/** What `notification_runs` knows of a notification: settled or not, and how long ago it was submitted. */
export async function runState(
  pool: Pool,
  workflowId: string,
): Promise<{ settled: boolean; ageS: number } | undefined> {
  const [rows] = await pool.execute<RowDataPacket[]>(
    'SELECT settled_at IS NOT NULL AS settled, TIMESTAMPDIFF(SECOND, created_at, CURRENT_TIMESTAMP(6)) AS age_s FROM notification_runs WHERE workflow_id = ?',
    [workflowId],
  );
  return rows[0] === undefined ? undefined : { settled: Number(rows[0].settled) === 1, ageS: Number(rows[0].age_s) };
}

/** Marks a notification settled and returns the notifications that wait for it. */
export async function settleRun(pool: Pool, workflowId: string): Promise<string[]> {
  await pool.execute(
    'UPDATE notification_runs SET settled_at = COALESCE(settled_at, CURRENT_TIMESTAMP(6)) WHERE workflow_id = ?',
    [workflowId],
  );
  const [rows] = await pool.execute<RowDataPacket[]>(
    'SELECT workflow_id FROM notification_runs WHERE predecessor_workflow_id = ?',
    [workflowId],
  );
  return rows.map((row) => String(row.workflow_id));
}
