import type { Client } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { submitOrderEvent } from '../order-chain/submit.js';
import { orderEventsBetween } from '../db/order-events.js';
import { BadRequest } from './errors.js';

export interface ReplayCandidate {
  eventId: string;
  orderId: string;
  customerId: string;
  occurredAt: string;
  /** Why it is sent again: no delivery recorded at all, or deliveries still pending. */
  reason: string;
}

/**
 * Re-derives notifications from `order_events` rows in a time window (after a CDC gap, say): every event
 * whose insert has no settled delivery record goes through its order's workflow again, as a run of its own.
 * Events already delivered, suppressed, dead-lettered (see `dlq redrive`) or cancelled are skipped; the ledger
 * would not send a delivered recipient twice anyway. Status changes are not replayed (their binlog position,
 * which names them, is not in the table).
 */
/** A longer window is more likely a typo than a CDC gap, and would start a notification for each of its events. */
const maxWindowMs = 7 * 24 * 3600 * 1000;

export function replayOperations({ pool, client }: { pool: Pool; client: Client }) {
  async function candidates(from: Date, to: Date): Promise<ReplayCandidate[]> {
    const events = await orderEventsBetween(pool, from, to);
    if (events.length === 0) return [];
    const [rows] = await pool.query<RowDataPacket[]>(
      "SELECT notification_id, SUM(state IN ('pending', 'sending')) AS pending, COUNT(*) AS total FROM deliveries WHERE notification_id IN (?) GROUP BY notification_id",
      [events.map((e) => e.eventId)],
    );
    const recorded = new Map(
      rows.map((r) => [String(r.notification_id), { pending: Number(r.pending), total: Number(r.total) }]),
    );
    return events.flatMap((event) => {
      const record = recorded.get(event.eventId);
      const reason =
        record === undefined
          ? 'no delivery recorded'
          : record.pending > 0
            ? `${record.pending} of ${record.total} deliveries pending`
            : undefined;
      return reason === undefined
        ? []
        : [
            {
              eventId: event.eventId,
              orderId: event.orderId,
              customerId: event.customerId,
              occurredAt: event.occurredAt,
              reason,
            },
          ];
    });
  }

  return {
    candidates,

    /** Sends the candidates again, oldest first (each order keeps its order). `dryRun` only lists them. */
    async replay(from: Date, to: Date, { dryRun = false } = {}): Promise<ReplayCandidate[]> {
      if (!(to.getTime() > from.getTime()))
        throw new BadRequest('the replay window is empty: --to must be after --from');
      if (to.getTime() - from.getTime() > maxWindowMs)
        throw new BadRequest('the replay window is longer than 7 days: replay a long gap in several windows');
      const found = await candidates(from, to);
      if (dryRun || found.length === 0) return found;
      const events = new Map((await orderEventsBetween(pool, from, to)).map((e) => [e.eventId, e]));
      const rerun = `replay-${Date.now()}`;
      for (const candidate of found)
        await submitOrderEvent({ client, pool }, { ...events.get(candidate.eventId)!, rerun });
      return found;
    },
  };
}
