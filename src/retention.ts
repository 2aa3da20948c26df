import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';

/** Rows deleted by one pruning, per table. */
export type Pruned = Record<string, number>;

/** Rows per statement: short transactions that never hold many locks while notifications go on. */
const batch = 1000;

/** A delivery in one of these states is over: nothing reads it to send, retry or wait. */
const finishedStates = ['delivered', 'suppressed', 'cancelled', 'bounced', 'undelivered'];

/**
 * Deletes what settled before `before`, never anything an order still waits on: a chain's end row goes only when its
 * last notification settled (the order's next one then starts a new chain, as its first would); a run goes only when it
 * is no chain's end and no unsettled notification follows it; a delivery only once it is over (a dead-lettered one once
 * its dead letter is resolved, a digested one once its digest is). Bounce reports, push progress and webhook message
 * contents go with the same age. Dead letters, digests, suppressions and the audit trail stay.
 */
export async function pruneSettled(pool: Pool, before: Date): Promise<Pruned> {
  const pruned: Pruned = {};
  const repeat = async (table: string, sql: string, values: unknown[]) => {
    for (;;) {
      const [result] = await pool.query<ResultSetHeader>(`${sql} LIMIT ${batch}`, values);
      pruned[table] = (pruned[table] ?? 0) + result.affectedRows;
      if (result.affectedRows < batch) return;
    }
  };
  for (;;) {
    const [ends] = await pool.query<RowDataPacket[]>(
      `SELECT c.order_id, c.last_workflow_id FROM notification_runs r
         JOIN notification_chain c ON c.last_workflow_id = r.workflow_id
        WHERE r.settled_at < ? LIMIT ${batch}`,
      [before],
    );
    if (ends.length === 0) break;
    // The end read above: a notification appended since moved it, and its row stays.
    const [result] = await pool.query<ResultSetHeader>(
      'DELETE FROM notification_chain WHERE (order_id, last_workflow_id) IN (?)',
      [ends.map((end) => [String(end.order_id), String(end.last_workflow_id)])],
    );
    pruned.notification_chain = (pruned.notification_chain ?? 0) + result.affectedRows;
    if (ends.length < batch) break;
  }
  for (;;) {
    const [runs] = await pool.query<RowDataPacket[]>(
      `SELECT r.workflow_id FROM notification_runs r
        WHERE r.settled_at < ?
          AND NOT EXISTS (SELECT 1 FROM notification_chain c WHERE c.last_workflow_id = r.workflow_id)
          AND NOT EXISTS (SELECT 1 FROM notification_runs s WHERE s.predecessor_workflow_id = r.workflow_id AND s.settled_at IS NULL)
        LIMIT ${batch}`,
      [before],
    );
    if (runs.length === 0) break;
    // Only the chain's end takes new followers: one that became an end since (an abandoned follower moved it back) stays.
    const [result] = await pool.query<ResultSetHeader>(
      `DELETE FROM notification_runs WHERE workflow_id IN (?) AND settled_at < ?
          AND workflow_id NOT IN (SELECT last_workflow_id FROM notification_chain)`,
      [runs.map((run) => String(run.workflow_id)), before],
    );
    pruned.notification_runs = (pruned.notification_runs ?? 0) + result.affectedRows;
    if (runs.length < batch) break;
  }
  await repeat('deliveries', 'DELETE FROM deliveries WHERE state IN (?) AND updated_at < ?', [finishedStates, before]);
  await repeat(
    'deliveries',
    `DELETE FROM deliveries WHERE state = 'dead_lettered' AND updated_at < ?
        AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.notification_id = deliveries.notification_id AND d.status = 'open')`,
    [before],
  );
  await repeat(
    'deliveries',
    `DELETE FROM deliveries WHERE state = 'digested' AND updated_at < ?
        AND NOT EXISTS (SELECT 1 FROM digests g WHERE g.id = deliveries.digest_id AND g.settled_at IS NULL)`,
    [before],
  );
  await repeat(
    'webhook_messages',
    `DELETE FROM webhook_messages WHERE created_at < ?
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = webhook_messages.notification_id
                          AND d.endpoint_id = webhook_messages.endpoint_id AND d.state IN ('pending', 'sending'))`,
    [before],
  );
  await repeat('push_sends', 'DELETE FROM push_sends WHERE sent_at < ?', [before]);
  await repeat('inbound_reports', 'DELETE FROM inbound_reports WHERE received_at < ?', [before]);
  return pruned;
}

/**
 * Prunes every `everyS` what settled more than `retentionS` ago, in the background of a workflow worker. Of several
 * workers, one prunes at a time (a MySQL named lock); the others skip that round. Returns what stops it.
 */
export function startPruning({
  pool,
  retentionS,
  everyS,
  log,
}: {
  pool: Pool;
  retentionS: number;
  everyS: number;
  log: Logger;
}): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const round = async () => {
    const connection = await pool.getConnection();
    try {
      const [[lock]] = await connection.query<RowDataPacket[]>("SELECT GET_LOCK('orderly-retention', 0) AS got");
      if (Number(lock?.got) !== 1) return;
      try {
        const before = new Date(Date.now() - retentionS * 1000);
        const pruned = await pruneSettled(pool, before);
        if (Object.values(pruned).some((n) => n > 0)) log.info({ before, pruned }, 'pruned settled rows');
      } finally {
        await connection.query("SELECT RELEASE_LOCK('orderly-retention')");
      }
    } finally {
      connection.release();
    }
  };
  const timer = setInterval(() => {
    running = running
      .then(round)
      .catch((error: unknown) => log.warn({ err: error }, 'pruning settled rows failed; the next round tries again'));
  }, everyS * 1000);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
