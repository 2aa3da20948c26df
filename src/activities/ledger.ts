import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { LedgerMetrics } from '../metrics.js';
import {
  type DeadLetter,
  type OrderEvent,
  type Recipient,
  type Suppression,
  type TemplateId,
  notificationKey,
} from '../domain.js';

interface LedgerDeps {
  pool: Pool;
  metrics?: LedgerMetrics;
}

/**
 * Writes the `deliveries` and `dead_letters` rows: the queryable record of what happened to every notification.
 * Every write is idempotent (keyed by notification x user x channel) because activities can run more than once.
 */
export function createLedgerActivities(deps: LedgerDeps) {
  return { ...createAudienceLedger(deps), ...createOutcomeLedger(deps), ...createDeadLetterLedger(deps) };
}

/** Who a notification goes to: a `deliveries` row per recipient (pending) and per suppressed user (with why). */
function createAudienceLedger({ pool, metrics }: LedgerDeps) {
  return {
    /**
     * Records the audience of an event: recipients as pending, the others as suppressed with a reason.
     * Returns the recipients still to be sent to: a redelivered event skips those already delivered.
     */
    async recordAudience(
      event: OrderEvent,
      template: TemplateId,
      recipients: Recipient[],
      suppressed: Suppression[],
    ): Promise<Recipient[]> {
      const key = notificationKey(event);
      const rows = audienceRows(event, template, recipients, suppressed);
      if (rows.length === 0) return [];
      for (const s of suppressed) metrics?.inc({ channel: s.channel, outcome: 'suppressed' });
      await pool.query(
        `INSERT INTO deliveries (notification_id, event_id, order_id, customer_id, user_id, channel, endpoint_id, recipient, template, state, reason)
         VALUES ?
         ON DUPLICATE KEY UPDATE
           state = IF(state IN ('delivered', 'sent', 'undelivered', 'bounced', 'cancelled'), state, VALUES(state)),
           reason = IF(state IN ('delivered', 'sent', 'undelivered', 'bounced', 'cancelled'), reason, VALUES(reason)),
           recipient = VALUES(recipient)`,
        [rows],
      );
      const [done] = await pool.execute<RowDataPacket[]>(
        // An SMS the provider accepted (`sent`) is not sent again, whatever its receipt says later.
        "SELECT user_id, channel, endpoint_id FROM deliveries WHERE notification_id = ? AND state IN ('delivered', 'sent', 'undelivered', 'bounced', 'cancelled')",
        [key],
      );
      const finished = new Set(done.map((row) => `${row.user_id}/${row.channel}/${row.endpoint_id}`));
      return recipients.filter((r) => !finished.has(`${r.userId}/${r.channel}/${r.endpoint?.id ?? 0}`));
    },
  };
}

/** What became of each delivery: delivered, or cancelled by an operator. */
function createOutcomeLedger({ pool, metrics }: LedgerDeps) {
  return {
    /**
     * Delivered (or, for an SMS, `sent`: accepted by the provider, its receipt still to come), with the provider
     * that carried it when there is one to name (SMS and push).
     */
    async recordDelivered(delivery: {
      notificationId: string;
      userId: string;
      channel: string;
      endpointId?: string;
      providerMessageId: string;
      attempts: number;
      provider?: string;
      state?: 'delivered' | 'sent';
    }): Promise<void> {
      const state = delivery.state ?? 'delivered';
      await pool.execute<ResultSetHeader>(
        `UPDATE deliveries SET state = ?, provider = ?, provider_message_id = ?, attempts = ?, last_error = NULL, delivered_at = CURRENT_TIMESTAMP(6)
          WHERE notification_id = ? AND user_id = ? AND channel = ? AND endpoint_id = ? AND state NOT IN ('delivered', 'undelivered', 'bounced')`,
        [
          state,
          delivery.provider ?? null,
          delivery.providerMessageId,
          delivery.attempts,
          delivery.notificationId,
          delivery.userId,
          delivery.channel,
          delivery.endpointId ?? 0,
        ],
      );
      metrics?.inc({ channel: delivery.channel, outcome: state });
    },

    /** Nobody to send to after all (no phone number, every push registration gone): suppressed, with why. */
    async recordSuppressed(delivery: {
      notificationId: string;
      userId: string;
      channel: string;
      reason: string;
    }): Promise<void> {
      await pool.execute(
        `UPDATE deliveries SET state = 'suppressed', reason = ?
          WHERE notification_id = ? AND user_id = ? AND channel = ? AND endpoint_id = 0 AND state = 'pending'`,
        [delivery.reason.slice(0, 255), delivery.notificationId, delivery.userId, delivery.channel],
      );
      metrics?.inc({ channel: delivery.channel, outcome: 'suppressed' });
    },

    /** An operator cancelled the notification: what was not delivered yet is recorded as cancelled, with why. */
    async recordCancelled(notificationId: string, reason: string): Promise<void> {
      await pool.execute(
        "UPDATE deliveries SET state = 'cancelled', reason = ? WHERE notification_id = ? AND state = 'pending'",
        [reason.slice(0, 255), notificationId],
      );
    },
  };
}

/** A delivery (or a whole event) given up: the delivery's row says so, and `dead_letters` keeps the entry. */
function createDeadLetterLedger({ pool, metrics }: LedgerDeps) {
  return {
    /** Marks the delivery (or, without a user, the event) as dead-lettered and keeps the reason. */
    async recordDeadLetter(deadLetter: DeadLetter): Promise<void> {
      metrics?.inc({ channel: deadLetter.channel ?? 'none', outcome: 'dead_lettered' });
      if (deadLetter.userId !== undefined) {
        await pool.execute(
          `UPDATE deliveries SET state = 'dead_lettered', attempts = ?, last_error = ?
            WHERE notification_id = ? AND user_id = ? AND channel = ? AND endpoint_id = ? AND state <> 'delivered'`,
          [
            deadLetter.attempts,
            `${deadLetter.errorType}: ${deadLetter.message}`,
            deadLetter.notificationId,
            deadLetter.userId,
            deadLetter.channel ?? 'email',
            deadLetter.endpointId ?? 0,
          ],
        );
      }
      await pool.execute(
        `INSERT INTO dead_letters (notification_id, event_id, order_id, customer_id, user_id, channel, endpoint_id, error_type, message, attempts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE message = VALUES(message), attempts = VALUES(attempts), status = 'open', resolved_at = NULL, resolution = NULL`,
        [
          deadLetter.notificationId,
          deadLetter.eventId,
          deadLetter.orderId,
          deadLetter.customerId,
          deadLetter.userId ?? 0,
          deadLetter.channel ?? null,
          deadLetter.endpointId ?? 0,
          deadLetter.errorType,
          deadLetter.message,
          deadLetter.attempts,
        ],
      );
    },
  };
}

/** The `deliveries` rows of an event's audience, in the column order of {@link createAudienceLedger}'s insert. */
function audienceRows(event: OrderEvent, template: TemplateId, recipients: Recipient[], suppressed: Suppression[]) {
  const key = notificationKey(event);
  const row = (userId: string, channel: string, endpointId: string | undefined) => [
    key,
    event.eventId,
    event.orderId,
    event.customerId,
    userId,
    channel,
    endpointId ?? 0,
  ];
  return [
    ...recipients.map((r) => [...row(r.userId, r.channel, r.endpoint?.id), addressOf(r), template, 'pending', null]),
    ...suppressed.map((s) => [...row(s.userId, s.channel, s.endpointId), null, template, 'suppressed', s.reason]),
  ];
}

/** What the `recipient` column shows: the address, or which endpoint. */
const addressOf = (recipient: Recipient): string | null =>
  recipient.endpoint
    ? `webhook endpoint ${recipient.endpoint.id}`
    : recipient.channel === 'email'
      ? recipient.email
      : // The phone number or device is read at send time; the ledger names the provider that reached it.
        null;
