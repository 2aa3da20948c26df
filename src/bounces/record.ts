import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { BounceTarget } from '../bounce-address.js';
import type { ParsedReport, RecipientStatus } from './dsn.js';

/** What came of one received report, as `inbound_reports.outcome` keeps it. */
export type ReportOutcome = 'applied' | 'unmatched' | 'unparseable';

export interface RecordedReport {
  reportId: number;
  outcome: ReportOutcome;
  detail: string;
  deliveryId?: number;
  status?: string;
}

export interface ReceivedReport {
  mailFrom: string | undefined;
  /** The bounce address it was sent to, and the delivery that address names. */
  rcptTo: string;
  target: BounceTarget;
  raw: Buffer;
  parsed: ParsedReport;
}

/**
 * Applies delivery status notifications to the ledger: a permanent failure (5.x.x) marks the delivery `bounced`
 * and suppresses its address; a transient one (4.x.x) is counted, and suppresses at `transientLimit`. Every report
 * is kept in `inbound_reports`, raw, with its outcome, whatever it said.
 */
export function createBounceRecorder({ pool, transientLimit }: { pool: Pool; transientLimit: number }) {
  async function keep(report: ReceivedReport, outcome: Omit<RecordedReport, 'reportId'>): Promise<RecordedReport> {
    const [result] = await pool.execute<ResultSetHeader>(
      `INSERT INTO inbound_reports (mail_from, rcpt_to, outcome, detail, delivery_id, status_code, raw)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        report.mailFrom ?? null,
        report.rcptTo,
        outcome.outcome,
        outcome.detail,
        outcome.deliveryId ?? null,
        outcome.status ?? null,
        report.raw,
      ],
    );
    return { reportId: result.insertId, ...outcome };
  }

  return {
    async record(report: ReceivedReport): Promise<RecordedReport> {
      if (!report.parsed.ok) return keep(report, { outcome: 'unparseable', detail: report.parsed.reason });
      // The worst news first: a permanent failure over a transient one; success notices change nothing.
      const failure =
        report.parsed.recipients.find((r) => r.status.startsWith('5')) ??
        report.parsed.recipients.find((r) => r.status.startsWith('4'));
      if (failure === undefined)
        return keep(report, { outcome: 'unmatched', detail: 'no failure reported (only 2.x.x)' });
      const [rows] = await pool.execute<RowDataPacket[]>(
        `SELECT id, recipient FROM deliveries
          WHERE user_id = ? AND channel = 'email' AND LEFT(SHA2(notification_id, 256), 16) = ?
          ORDER BY id DESC LIMIT 1`,
        [report.target.userId, report.target.notificationHash],
      );
      const delivery = rows[0] as { id: number; recipient: string | null } | undefined;
      if (delivery === undefined)
        return keep(report, {
          outcome: 'unmatched',
          detail: 'no email delivery for its address',
          status: failure.status,
        });
      // The address we sent to is the one to suppress, whatever the reporting server calls it.
      const address = (delivery.recipient ?? failure.finalRecipient ?? '').toLowerCase();
      const detail = failure.status.startsWith('5')
        ? await applyPermanent(pool, delivery.id, address, failure)
        : await applyTransient(pool, transientLimit, delivery.id, address, failure);
      return keep(report, { outcome: 'applied', detail, deliveryId: delivery.id, status: failure.status });
    },
  };
}

const describe = (failure: RecipientStatus) =>
  `${failure.status}${failure.diagnostic === undefined ? '' : ` (${failure.diagnostic})`}`;

/** 5.x.x: the delivery is `bounced` and its address suppressed. */
async function applyPermanent(
  pool: Pool,
  deliveryId: number,
  address: string,
  failure: RecipientStatus,
): Promise<string> {
  const diagnostic = failure.diagnostic ?? null;
  const described = describe(failure);
  await pool.execute(`UPDATE deliveries SET state = 'bounced', reason = LEFT(?, 255), last_error = ? WHERE id = ?`, [
    `bounced: ${described}`,
    diagnostic ?? failure.status,
    deliveryId,
  ]);
  await pool.execute(
    `INSERT INTO email_suppressions (address, reason, status_code, diagnostic, suppressed)
       VALUES (?, 'permanent', ?, ?, TRUE)
       ON DUPLICATE KEY UPDATE reason = 'permanent', status_code = VALUES(status_code),
         diagnostic = VALUES(diagnostic), suppressed = TRUE, last_seen_at = CURRENT_TIMESTAMP(6)`,
    [address, failure.status, diagnostic],
  );
  return `permanent failure ${described}: delivery bounced, ${address} suppressed`;
}

/** 4.x.x: counted for the address, which is suppressed once `transientLimit` have come. */
async function applyTransient(
  pool: Pool,
  transientLimit: number,
  deliveryId: number,
  address: string,
  failure: RecipientStatus,
): Promise<string> {
  const diagnostic = failure.diagnostic ?? null;
  const described = describe(failure);
  await pool.execute(`UPDATE deliveries SET last_error = ? WHERE id = ?`, [
    `transient bounce: ${described}`,
    deliveryId,
  ]);
  // Assignments run left to right, so `suppressed` is decided from the count before its increment.
  await pool.execute(
    `INSERT INTO email_suppressions (address, reason, status_code, diagnostic, transient_count, suppressed)
     VALUES (?, 'transient', ?, ?, 1, ? <= 1)
     ON DUPLICATE KEY UPDATE
       suppressed = suppressed OR transient_count + 1 >= ?,
       status_code = IF(reason = 'permanent', status_code, VALUES(status_code)),
       diagnostic = IF(reason = 'permanent', diagnostic, VALUES(diagnostic)),
       transient_count = transient_count + 1,
       last_seen_at = CURRENT_TIMESTAMP(6)`,
    [address, failure.status, diagnostic, transientLimit, transientLimit],
  );
  return `transient failure ${described}: counted for ${address} (suppressed after ${transientLimit})`;
}
