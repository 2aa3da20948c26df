import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { jsonColumn } from '../db/pool.js';
import type { LedgerMetrics } from '../metrics.js';
import type { WebhookDeliveryAsk } from '../messages.js';
import { DeliveryClosed, DeliveryInFlight, toFailure } from './errors.js';
import { readDigest } from './digests.js';
import {
  type DeadLetter,
  type DeliveredRecord,
  type OrderEvent,
  type Recipient,
  type Suppression,
  type TemplateId,
  type WebhookContent,
  digestNotificationId,
  notificationKey,
} from '../domain.js';

/** One delivery's row: `deliveries` is keyed by notification, user, channel and endpoint (0: none). */
const where = 'notification_id = ? AND user_id = ? AND channel = ? AND endpoint_id = ?';
const keyOf = (d: DeliveryKey) => [d.notificationId, d.userId, d.channel, d.endpointId ?? 0];

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
     * Returns the recipients still to be sent to: a redelivered event skips those already delivered. A delivery
     * another attempt is sending stays `sending` (its claim decides who sends).
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
           state = IF(state IN ('delivered', 'sent', 'undelivered', 'bounced', 'cancelled', 'sending', 'digested'), state, VALUES(state)),
           reason = IF(state IN ('delivered', 'sent', 'undelivered', 'bounced', 'cancelled', 'sending', 'digested'), reason, VALUES(reason)),
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
    /** Delivered, or for an SMS `sent` (see {@link DeliveredRecord}). */
    async recordDelivered(delivery: DeliveredRecord): Promise<void> {
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
    /**
     * Marks the delivery (or, without a user, the event) as dead-lettered, keeps the reason, and says so; a delivery
     * suppressed meanwhile (its recipient erased or opted out while it was retried) stays suppressed with its reason,
     * and no dead letter is written.
     */
    async recordDeadLetter(deadLetter: DeadLetter): Promise<'dead_lettered' | 'suppressed'> {
      if (deadLetter.userId !== undefined) {
        const delivery = keyOf({ ...deadLetter, userId: deadLetter.userId, channel: deadLetter.channel ?? 'email' });
        const [updated] = await pool.execute<ResultSetHeader>(
          `UPDATE deliveries SET state = 'dead_lettered', attempts = ?, last_error = ?
            WHERE ${where} AND state NOT IN ('delivered', 'suppressed')`,
          [deadLetter.attempts, `${deadLetter.errorType}: ${deadLetter.message}`, ...delivery],
        );
        if (updated.affectedRows === 0) {
          const [rows] = await pool.execute<RowDataPacket[]>(`SELECT state FROM deliveries WHERE ${where}`, delivery);
          if (rows[0]?.state === 'suppressed') return 'suppressed';
        }
      }
      metrics?.inc({ channel: deadLetter.channel ?? 'none', outcome: 'dead_lettered' });
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
      return 'dead_lettered';
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

/** One delivery row: notification x user x channel x endpoint (0 for the channels without one). */
export interface DeliveryKey {
  notificationId: string;
  userId: string;
  channel: string;
  endpointId?: string;
}

export type Claim =
  /** This attempt may send (taking over from one that died mid-send is logged and counted in the row). */
  | { kind: 'claimed'; attemptId: string }
  /** Nothing to send: gone out by an earlier attempt (through this provider, with this message id). */
  | { kind: 'sent'; provider: string | null; providerMessageId: string | null };

/** The states in which a delivery has gone out: an attempt that finds one of them sends nothing. */
const goneOutStates: readonly string[] = ['sent', 'delivered', 'undelivered', 'bounced'];

/** How long a claim holds without its sender renewing it: a sender that stops renewing has died. */
const leaseS = 20;
/** How often a sender renews its claim while its send is in flight (most sends end before the first renewal). */
const renewEveryMs = 5_000;

/**
 * Claims the delivery for this attempt, or says it has gone out already. Another attempt sending it now fails this
 * one with `DeliveryInFlight` (retried once the other's lease may have run out); a delivery closed without a send
 * (cancelled, suppressed, dead-lettered) with `DeliveryClosed`.
 */
async function claim(pool: Pool, delivery: DeliveryKey): Promise<Claim> {
  // The usual case, a pending delivery, in one statement; anything else is read first.
  const attemptId = randomUUID();
  const [claimed] = await pool.execute<ResultSetHeader>(
    `UPDATE deliveries SET state = 'sending', attempt_id = ?, lease_until = NOW(6) + INTERVAL ${leaseS} SECOND
      WHERE ${where} AND state = 'pending'`,
    [attemptId, ...keyOf(delivery)],
  );
  if (claimed.affectedRows === 1) return { kind: 'claimed', attemptId };
  for (;;) {
    const [rows] = await pool.execute<RowDataPacket[]>(
      `SELECT state, attempt_id, provider, provider_message_id,
              TIMESTAMPDIFF(MICROSECOND, NOW(6), lease_until) AS lease_left_us
         FROM deliveries WHERE ${where}`,
      keyOf(delivery),
    );
    const row = rows[0];
    // No row: a send asked for outside a notification's audience (never by Orderly's workflows); nothing to guard.
    if (row === undefined) return { kind: 'claimed', attemptId };
    const state = String(row.state);
    const leaseLeftMs = row.lease_left_us === null ? 0 : Number(row.lease_left_us) / 1000;
    if (state === 'sending' && leaseLeftMs > 0) throw toFailure(new DeliveryInFlight(Math.ceil(leaseLeftMs) + 500));
    if (goneOutStates.includes(state))
      return {
        kind: 'sent',
        provider: row.provider as string | null,
        providerMessageId: row.provider_message_id as string | null,
      };
    if (state !== 'pending' && state !== 'sending') throw toFailure(new DeliveryClosed(state));
    // Compare-and-set on what was read: of two attempts that read the same row, one wins and the other reads again.
    const [result] = await pool.execute<ResultSetHeader>(
      `UPDATE deliveries SET unknown_outcomes = unknown_outcomes + (state = 'sending'), state = 'sending',
              attempt_id = ?, lease_until = NOW(6) + INTERVAL ${leaseS} SECOND
        WHERE ${where} AND state = ? AND attempt_id <=> ?`,
      [attemptId, ...keyOf(delivery), state, row.attempt_id ?? null],
    );
    if (result.affectedRows !== 1) continue;
    if (state === 'sending')
      Context.current().log.warn('sending again: an earlier attempt died mid-send (a possible duplicate)', {
        ...delivery,
      });
    return { kind: 'claimed', attemptId };
  }
}

/**
 * Claim before send: a delivery moves `pending -> sending` under an attempt id before any send, so two attempts
 * (an abandoned local activity and its retry, a worker killed mid-send and the one that replays it) never send
 * beside each other. The claim is a lease the sender renews while its send is in flight; one that ran out was held
 * by an attempt that died mid-send, whose outcome nobody knows: the next attempt takes it over and the row counts
 * an unknown outcome (a possible duplicate where the channel has no idempotency key).
 */
export function createDeliveryClaims({ pool }: { pool: Pool }) {
  return {
    claim: (delivery: DeliveryKey) => claim(pool, delivery),

    /**
     * Runs `send` under a claim, renewed while it is in flight. A failed send hands the delivery back (`pending`):
     * its outcome is known, nothing went out. A sent one stays `sending` until the ledger records it delivered.
     */
    async whileClaimed<T>(delivery: DeliveryKey, attemptId: string, send: () => Promise<T>): Promise<T> {
      const renewal = setInterval(() => {
        pool
          .execute(
            `UPDATE deliveries SET lease_until = NOW(6) + INTERVAL ${leaseS} SECOND WHERE ${where} AND attempt_id = ?`,
            [...keyOf(delivery), attemptId],
          )
          // A renewal that fails (the database restarting) only shortens the lease; the send goes on.
          .catch(() => undefined);
      }, renewEveryMs);
      try {
        return await send();
      } catch (error) {
        await pool
          .execute(
            `UPDATE deliveries SET state = 'pending', attempt_id = NULL, lease_until = NULL WHERE ${where} AND state = 'sending' AND attempt_id = ?`,
            [...keyOf(delivery), attemptId],
          )
          // Not handed back (the database is away): the lease runs out, and the next attempt counts an unknown outcome.
          .catch(() => undefined);
        throw error;
      } finally {
        clearInterval(renewal);
      }
    },
  };
}

/**
 * `webhook_messages`: the content of each webhook delivery, stored once when the delivery is handed to its
 * endpoint's workflow, read by the webhook worker at send time. The endpoint's workflow names messages only.
 */
export function createWebhookMessages({ pool }: { pool: Pool }) {
  return {
    /** Stores a delivery's content; asking again (a reminder, a retried activity) keeps the first. */
    async store({ messageId, endpointId, event, template }: WebhookDeliveryAsk): Promise<void> {
      await pool.execute(
        'INSERT IGNORE INTO webhook_messages (message_id, endpoint_id, notification_id, template, event) VALUES (?, ?, ?, ?, ?)',
        [messageId, endpointId, notificationKey(event), template, JSON.stringify(event)],
      );
    },

    /** A digest's message: its events stay in `digest_items`, the message names the digest. */
    async storeDigest({
      messageId,
      endpointId,
      digestId,
    }: {
      messageId: string;
      endpointId: string;
      digestId: string;
    }) {
      await pool.execute(
        "INSERT IGNORE INTO webhook_messages (message_id, endpoint_id, notification_id, template, event) VALUES (?, ?, ?, 'order-digest', ?)",
        [messageId, endpointId, digestNotificationId(digestId), JSON.stringify({ digestId })],
      );
    },

    /** A message's content, or undefined when it is no longer stored. */
    async find(messageId: string): Promise<WebhookContent | undefined> {
      const [rows] = await pool.execute<RowDataPacket[]>(
        'SELECT template, event FROM webhook_messages WHERE message_id = ?',
        [messageId],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      if (row.template === 'order-digest')
        return { digest: await readDigest(pool, jsonColumn<{ digestId: string }>(row.event).digestId) };
      return { event: jsonColumn<OrderEvent>(row.event), template: row.template as TemplateId };
    },
  };
}
