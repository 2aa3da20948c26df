import type { Pool, RowDataPacket } from 'mysql2/promise';
import { inTransaction } from '../db/pool.js';

/**
 * Appends `workflowId` to its order's chain and returns the workflow id of the notification it follows (undefined
 * for the order's first), in one transaction holding the order's chain row: the new `notification_runs` row and the
 * chain's new end are written together or not at all. Idempotent per notification: one that is already in the
 * chain (a retried submission, a Kafka redelivery) gets its row's predecessor back and the chain is not touched;
 * one whose start failed ({@link abandonRun}) takes a new place at the end.
 */
export async function appendToChain(pool: Pool, orderId: string, workflowId: string): Promise<string | undefined> {
  return inTransaction(pool, async (connection) => {
    const [chain] = await connection.query<RowDataPacket[]>(
      'SELECT last_workflow_id FROM notification_chain WHERE order_id = ? FOR UPDATE',
      [orderId],
    );
    const [runs] = await connection.query<RowDataPacket[]>(
      'SELECT predecessor_workflow_id, abandoned FROM notification_runs WHERE workflow_id = ? FOR UPDATE',
      [workflowId],
    );
    const run = runs[0];
    if (run !== undefined && !run.abandoned)
      return run.predecessor_workflow_id === null ? undefined : String(run.predecessor_workflow_id);
    const end = chain[0] === undefined ? undefined : String(chain[0].last_workflow_id);
    // An abandoned notification still at the end keeps its place behind the one it followed.
    const predecessor =
      end !== workflowId ? end : run?.predecessor_workflow_id == null ? undefined : String(run.predecessor_workflow_id);
    await connection.query(
      `INSERT INTO notification_runs (workflow_id, order_id, predecessor_workflow_id) VALUES (?, ?, ?)
       ON DUPLICATE KEY UPDATE predecessor_workflow_id = VALUES(predecessor_workflow_id), abandoned = FALSE,
         settled_at = NULL, created_at = CURRENT_TIMESTAMP(6)`,
      [workflowId, orderId, predecessor ?? null],
    );
    await connection.query(
      `INSERT INTO notification_chain (order_id, last_workflow_id) VALUES (?, ?)
       ON DUPLICATE KEY UPDATE last_workflow_id = VALUES(last_workflow_id)`,
      [orderId, workflowId],
    );
    return predecessor;
  });
}

/**
 * Takes a notification whose workflow was never started out of its order's chain: the notifications that waited
 * for it now wait for its predecessor (and the chain's end moves back to that one if it was the end), and the run is
 * marked abandoned. Returns the notifications that waited for it, to be woken so that they look at their new
 * predecessor. Submitting it again appends it anew, at the end.
 */
export async function abandonRun(pool: Pool, workflowId: string): Promise<string[]> {
  const successors = await successorsOf(pool, workflowId);
  await inTransaction(pool, async (connection) => {
    const [[run]] = await connection.query<RowDataPacket[]>(
      'SELECT order_id, predecessor_workflow_id FROM notification_runs WHERE workflow_id = ?',
      [workflowId],
    );
    if (run?.order_id != null)
      await connection.query('SELECT last_workflow_id FROM notification_chain WHERE order_id = ? FOR UPDATE', [
        run.order_id,
      ]);
    const predecessor = (run?.predecessor_workflow_id as string | null | undefined) ?? null;
    await connection.query(
      'UPDATE notification_runs SET predecessor_workflow_id = ? WHERE predecessor_workflow_id = ?',
      [predecessor, workflowId],
    );
    await connection.query(
      'UPDATE notification_runs SET abandoned = TRUE, settled_at = COALESCE(settled_at, CURRENT_TIMESTAMP(6)) WHERE workflow_id = ?',
      [workflowId],
    );
    if (run?.order_id != null)
      await connection.query(
        predecessor === null
          ? 'DELETE FROM notification_chain WHERE order_id = ? AND last_workflow_id = ?'
          : 'UPDATE notification_chain SET last_workflow_id = ? WHERE order_id = ? AND last_workflow_id = ?',
        predecessor === null ? [run.order_id, workflowId] : [predecessor, run.order_id, workflowId],
      );
  });
  return successors;
}

/**
 * A notification's predecessor as its run records it now (the row, not the workflow's start argument, which a
 * taken-out phantom makes stale): settled or not, started (its workflow has run) or not, and how long ago it was
 * submitted. `undefined` when it has none.
 */
export async function predecessorOf(
  pool: Pool,
  workflowId: string,
): Promise<{ workflowId: string; settled: boolean; started: boolean; ageS: number | undefined } | undefined> {
  const [rows] = await pool.execute<RowDataPacket[]>(
    `SELECT n.predecessor_workflow_id AS workflow_id, p.settled_at IS NOT NULL AS settled, p.started AS started,
       TIMESTAMPDIFF(SECOND, p.created_at, CURRENT_TIMESTAMP(6)) AS age_s, p.workflow_id IS NOT NULL AS recorded
     FROM notification_runs n LEFT JOIN notification_runs p ON p.workflow_id = n.predecessor_workflow_id
     WHERE n.workflow_id = ?`,
    [workflowId],
  );
  const row = rows[0];
  if (row === undefined || row.workflow_id === null) return undefined;
  return {
    workflowId: String(row.workflow_id),
    settled: Number(row.settled) === 1,
    started: Number(row.started) === 1,
    ageS: Number(row.recorded) === 1 ? Number(row.age_s) : undefined,
  };
}

/** Marks a notification's run started: its workflow runs, so it is no phantom. */
export async function markStarted(pool: Pool, workflowId: string): Promise<void> {
  await pool.execute('UPDATE notification_runs SET started = TRUE WHERE workflow_id = ? AND NOT started', [workflowId]);
}

/** Marks a notification settled and returns the notifications that wait for it. */
export async function settleRun(pool: Pool, workflowId: string): Promise<string[]> {
  await pool.execute(
    'UPDATE notification_runs SET settled_at = COALESCE(settled_at, CURRENT_TIMESTAMP(6)) WHERE workflow_id = ?',
    [workflowId],
  );
  return successorsOf(pool, workflowId);
}

async function successorsOf(pool: Pool, workflowId: string): Promise<string[]> {
  const [rows] = await pool.execute<RowDataPacket[]>(
    'SELECT workflow_id FROM notification_runs WHERE predecessor_workflow_id = ?',
    [workflowId],
  );
  return rows.map((row) => String(row.workflow_id));
}
