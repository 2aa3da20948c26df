import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { TwilioMessageStatus } from '../providers/twilio.js';

/** What a provider's receipt says became of a message it accepted. */
export interface DeliveryReceipt {
  provider: string;
  /** The provider's id of the message, as recorded in `deliveries.provider_message_id` when it was sent. */
  messageId: string;
  outcome: 'delivered' | 'undelivered';
  /** Why it was not delivered (undelivered only): one line for `reason`, and the provider's detail for `last_error`. */
  reason?: string;
  detail?: string;
}

/**
 * What a receipt did: moved the delivery (`delivered`, `undelivered`), found it already past `sent` (`final`: a
 * receipt never moves a delivery back), or found no delivery with that provider and message id (`unknown`).
 */
export type ReceiptResult = 'delivered' | 'undelivered' | 'final' | 'unknown';

/** Twilio's delivery error codes (https://www.twilio.com/docs/api/errors), as receipts report them. */
const twilioDeliveryErrors: Record<string, string> = {
  '30001': 'queue overflow',
  '30002': 'account suspended',
  '30003': 'unreachable destination handset',
  '30004': 'message blocked',
  '30005': 'unknown destination handset',
  '30006': 'landline or unreachable carrier',
  '30007': 'message filtered by the carrier',
  '30008': 'unknown error',
  '30009': 'missing segment',
  '30010': 'message price exceeds max price',
  '30034': 'message from an unregistered number (US A2P 10DLC)',
};

/**
 * The receipt of a Twilio status callback, or undefined for a status on the way (`queued`, `sending`, `sent`, ...):
 * only `delivered`, and `undelivered` / `failed` with their ErrorCode, are final.
 */
export function twilioReceipt(callback: {
  messageId: string;
  status: TwilioMessageStatus;
  errorCode?: string;
}): DeliveryReceipt | undefined {
  const { messageId, status, errorCode } = callback;
  if (status === 'delivered') return { provider: 'twilio', messageId, outcome: 'delivered' };
  if (status !== 'undelivered' && status !== 'failed') return undefined;
  const what = errorCode === undefined ? 'no error code' : `error ${errorCode}`;
  const meaning = errorCode === undefined ? undefined : twilioDeliveryErrors[errorCode];
  return {
    provider: 'twilio',
    messageId,
    outcome: 'undelivered',
    reason: `Twilio ${status}: ${meaning ?? what}${meaning ? ` (${errorCode})` : ''}`,
    detail: `Twilio reported the message ${status}, ${what}${meaning ? `: ${meaning}` : ''} (https://www.twilio.com/docs/api/errors${errorCode ? `/${errorCode}` : ''})`,
  };
}

/**
 * Providers' delivery receipts: a message a provider accepted (delivery `sent`) becomes `delivered` or
 * `undelivered` when its receipt says so. Only `sent` moves: a late or repeated receipt never changes a delivery
 * already final.
 */
export function deliveryReceiptOperations({ pool }: { pool: Pool }) {
  return {
    async record(receipt: DeliveryReceipt): Promise<ReceiptResult> {
      const delivered = receipt.outcome === 'delivered';
      // A delivered message keeps what earlier attempts recorded (a failover's error, say).
      const [result] = await pool.execute<ResultSetHeader>(
        `UPDATE deliveries
            SET state = ?, delivered_at = IF(?, CURRENT_TIMESTAMP(6), delivered_at),
                reason = COALESCE(?, reason), last_error = COALESCE(?, last_error)
          WHERE provider = ? AND provider_message_id = ? AND state = 'sent'`,
        [
          receipt.outcome,
          delivered,
          delivered ? null : (receipt.reason ?? 'undelivered').slice(0, 255),
          delivered ? null : (receipt.detail ?? null),
          receipt.provider,
          receipt.messageId,
        ],
      );
      if (result.affectedRows > 0) return receipt.outcome;
      const [rows] = await pool.execute<RowDataPacket[]>(
        'SELECT 1 FROM deliveries WHERE provider = ? AND provider_message_id = ? LIMIT 1',
        [receipt.provider, receipt.messageId],
      );
      return rows.length > 0 ? 'final' : 'unknown';
    },
  };
}
