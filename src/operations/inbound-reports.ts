import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { BounceTarget } from '../bounce-address.js';
import type { ReportKind } from '../bounces/report.js';
import { NotFound } from './errors.js';
import { userCustomer } from './users.js';

/** What came of one received report, as `inbound_reports.outcome` keeps it. */
export type ReportOutcome = 'applied' | 'unmatched' | 'unparseable';

/** One received report as `inbound_reports` keeps it: raw, with what it was and what came of it. */
export interface InboundReport {
  mailFrom: string | undefined;
  rcptTo: string;
  kind: ReportKind | undefined;
  outcome: ReportOutcome;
  detail: string;
  deliveryId?: number;
  userId?: string;
  status?: string;
  raw: Buffer;
}

/** The email delivery a bounce address names, with the customer it was for. */
export interface EmailDelivery {
  id: number;
  recipient: string | null;
  customerId: string;
}

/**
 * The bounce listener's reads and writes besides the suppression list: received reports (`inbound_reports`) and
 * the deliveries they are about.
 */
export function inboundReportOperations({ pool }: { pool: Pool }) {
  return {
    /** Keeps the report, whatever it said; its id. */
    async keep(report: InboundReport): Promise<number> {
      const [result] = await pool.execute<ResultSetHeader>(
        `INSERT INTO inbound_reports (mail_from, rcpt_to, kind, outcome, detail, delivery_id, user_id, status_code, raw)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          report.mailFrom ?? null,
          report.rcptTo,
          report.kind ?? null,
          report.outcome,
          report.detail,
          report.deliveryId ?? null,
          report.userId ?? null,
          report.status ?? null,
          report.raw,
        ],
      );
      return result.insertId;
    },

    /** The newest email delivery a bounce token names (its user and a hash of its notification id). */
    async emailDeliveryOf(target: BounceTarget): Promise<EmailDelivery | undefined> {
      const [rows] = await pool.execute<RowDataPacket[]>(
        `SELECT id, recipient, customer_id FROM deliveries
          WHERE user_id = ? AND channel = 'email' AND LEFT(SHA2(notification_id, 256), 16) = ?
          ORDER BY id DESC LIMIT 1`,
        [target.userId, target.notificationHash],
      );
      const row = rows[0];
      return (
        row && { id: Number(row.id), recipient: row.recipient as string | null, customerId: String(row.customer_id) }
      );
    },

    /** The customer of a user, or undefined when there is no such user. */
    customerOfUser: (userId: string): Promise<string | undefined> =>
      userCustomer(pool, userId, undefined).catch((error: unknown) => {
        if (error instanceof NotFound) return undefined;
        throw error;
      }),

    /**
     * What a bounce does to its delivery: a permanent one marks it `bounced` with the reason; a transient one only
     * notes it, since the mail may still arrive.
     */
    async noteBounce(deliveryId: number, permanent: boolean, reason: string, lastError: string): Promise<void> {
      if (permanent)
        await pool.execute(
          `UPDATE deliveries SET state = 'bounced', reason = LEFT(?, 255), last_error = ? WHERE id = ?`,
          [reason, lastError, deliveryId],
        );
      else await pool.execute('UPDATE deliveries SET last_error = ? WHERE id = ?', [lastError, deliveryId]);
    },
  };
}
