import type { Client } from '@temporalio/client';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { submitOrderEvent } from '../order-chain/submit.js';
import { Conflict, NotFound } from './errors.js';
import { loadOrderEvent } from '../db/order-events.js';

export type DeadLetterStatus = 'open' | 'redriven' | 'discarded';

export interface DeadLetterRecord {
  id: string;
  notificationId: string;
  eventId: string;
  orderId: string;
  customerId: string;
  /** Absent when the event as a whole could not be notified (an unknown order). */
  userId: string | null;
  channel: string | null;
  endpointId: string | null;
  errorType: string;
  message: string;
  attempts: number;
  status: DeadLetterStatus;
  createdAt: string;
  resolvedAt: string | null;
  resolution: string | null;
}

interface DeadLetterRow extends RowDataPacket {
  id: string;
  notification_id: string;
  event_id: string;
  order_id: string;
  customer_id: string;
  user_id: string;
  channel: string | null;
  endpoint_id: string;
  error_type: string;
  message: string;
  attempts: number;
  status: DeadLetterStatus;
  created_at: Date;
  resolved_at: Date | null;
  resolution: string | null;
}

const toRecord = (row: DeadLetterRow): DeadLetterRecord => ({
  id: String(row.id),
  notificationId: row.notification_id,
  eventId: String(row.event_id),
  orderId: String(row.order_id),
  customerId: String(row.customer_id),
  userId: String(row.user_id) === '0' ? null : String(row.user_id),
  channel: row.channel,
  endpointId: String(row.endpoint_id) === '0' ? null : String(row.endpoint_id),
  errorType: row.error_type,
  message: row.message,
  attempts: row.attempts,
  status: row.status,
  createdAt: row.created_at.toISOString(),
  resolvedAt: row.resolved_at?.toISOString() ?? null,
  resolution: row.resolution,
});

export interface DeadLetterFilter {
  customerId?: string;
  since?: Date;
  /** Default: open ones only. */
  status?: DeadLetterStatus | 'all';
  limit?: number;
}

/** One dead letter, whichever its status. */
async function findDeadLetter(pool: Pool, id: string): Promise<DeadLetterRecord> {
  const [rows] = await pool.execute<DeadLetterRow[]>('SELECT * FROM dead_letters WHERE id = ?', [id]);
  if (rows[0] === undefined) throw new NotFound(`there is no dead letter ${id}`);
  return toRecord(rows[0]);
}

async function listDeadLetters(pool: Pool, filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
  const where: string[] = [];
  const values: (string | Date | number)[] = [];
  if ((filter.status ?? 'open') !== 'all') {
    where.push('status = ?');
    values.push(filter.status ?? 'open');
  }
  if (filter.customerId !== undefined) {
    where.push('customer_id = ?');
    values.push(filter.customerId);
  }
  if (filter.since !== undefined) {
    where.push('created_at >= ?');
    values.push(filter.since);
  }
  values.push(filter.limit ?? 1_000);
  const [rows] = await pool.query<DeadLetterRow[]>(
    `SELECT * FROM dead_letters ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`,
    values,
  );
  return rows.map(toRecord);
}

/**
 * Marks an open dead letter resolved; refuses one that is not open any more. Returns how many times it has been
 * redriven, this time included.
 */
async function resolveDeadLetter(
  pool: Pool,
  id: string,
  status: Exclude<DeadLetterStatus, 'open'>,
  resolution: string,
): Promise<number> {
  const [result] = await pool.execute<ResultSetHeader>(
    `UPDATE dead_letters SET status = ?, resolved_at = CURRENT_TIMESTAMP(6), resolution = ?,
       redrives = redrives + IF(? = 'redriven', 1, 0)
     WHERE id = ? AND status = 'open'`,
    [status, resolution, status, id],
  );
  if (result.affectedRows === 0) {
    const current = await findDeadLetter(pool, id);
    throw new Conflict(`dead letter ${id} is already ${current.status}`);
  }
  const [rows] = await pool.execute<RowDataPacket[]>('SELECT redrives FROM dead_letters WHERE id = ?', [id]);
  return Number(rows[0]!.redrives);
}

/** Undoes a resolution (a redrive that could not be submitted). */
async function reopenDeadLetter(pool: Pool, id: string): Promise<void> {
  await pool.execute("UPDATE dead_letters SET status = 'open', resolved_at = NULL, resolution = NULL WHERE id = ?", [
    id,
  ]);
}

/**
 * Operators' view of the `dead_letters` table (the dead-letter workflow keeps the newest for the Web UI;
 * the table keeps all): list, show, redrive through the pipeline, discard.
 */
export function deadLetterOperations({ pool, client }: { pool: Pool; client: Client }) {
  return {
    list: (filter: DeadLetterFilter = {}) => listDeadLetters(pool, filter),
    show: (id: string) => findDeadLetter(pool, id),

    /**
     * Sends the dead letter's notification again, chained behind its order's newest one, as a notification run of
     * its own (`notification:<id>#redrive-<deadLetterId>-<n>`, n counting this dead letter's redrives): every
     * redrive is really attempted on every channel. The ledger skips recipients already delivered, so only what
     * failed is sent. If it fails again, the same dead letter opens again and may be redriven again.
     */
    async redrive(id: string): Promise<{ deadLetter: DeadLetterRecord; workflowId: string }> {
      const deadLetter = await findDeadLetter(pool, id);
      if (deadLetter.status !== 'open') throw new Conflict(`dead letter ${id} is already ${deadLetter.status}`);
      const event = await loadOrderEvent(pool, deadLetter.eventId);
      if (event === undefined)
        throw new NotFound(`event ${deadLetter.eventId} of dead letter ${id} is no longer in order_events`);
      // Claimed first, so a redrive that fails at once reopens the row after this, not before.
      const redrives = await resolveDeadLetter(pool, id, 'redriven', 'redriven by an operator');
      const rerun = { ...event, notificationId: deadLetter.notificationId, rerun: `redrive-${id}-${redrives}` };
      let submitted: { workflowId: string; started: boolean };
      try {
        submitted = await submitOrderEvent({ client, pool }, rerun);
      } catch (error) {
        await reopenDeadLetter(pool, id);
        throw error;
      }
      if (!submitted.started) {
        await reopenDeadLetter(pool, id);
        throw new Conflict(`dead letter ${id} was not redriven: ${submitted.workflowId} already exists`);
      }
      return { deadLetter: { ...deadLetter, status: 'redriven' }, workflowId: submitted.workflowId };
    },

    async discard(id: string, reason = 'discarded by an operator'): Promise<DeadLetterRecord> {
      await resolveDeadLetter(pool, id, 'discarded', reason);
      return findDeadLetter(pool, id);
    },
  };
}
