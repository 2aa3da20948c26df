/**
 * The verdict's inputs, read from where they are: the rows in MySQL, and every copy the local receivers accepted.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { ReceivedMessage } from '../test/support/faulty-smtp.js';
import type { FcmRequest } from '../test/support/providers/fcm-server.js';
import type { TwilioRequest } from '../test/support/providers/twilio-server.js';
import type { Exchange } from '../test/support/providers/local-server.js';
import type { ReceivedWebhook } from '../test/support/webhook-receiver.js';
import { loadSource } from './load.js';
import type { Channel, LedgerRow, ReceivedCopy } from './verdict.js';

/** What MySQL records of some events: their `deliveries` rows, their dead letters, and when each first went out. */
export interface LedgerEvidence {
  ledger: LedgerRow[];
  deadLettered: Set<string>;
  /** Per event, when the ledger first recorded a delivery as gone out (null while none has). */
  recordedAt: Map<string, number | null>;
  /**
   * Sends taken over from an attempt that died mid-send (its claim's lease ran out): their outcome was unknown, so
   * each is a possible duplicate where the channel has no idempotency key.
   */
  unknownOutcomes: number;
}

export async function ledgerEvidence(pool: Pool, eventIds: string[]): Promise<LedgerEvidence> {
  if (eventIds.length === 0) return { ledger: [], deadLettered: new Set(), recordedAt: new Map(), unknownOutcomes: 0 };
  // A digested event went out when its digest did: as delivered then.
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT d.event_id, d.channel, IF(d.state = 'digested' AND g.state = 'delivered', 'delivered', d.state) AS state,
            d.unknown_outcomes, UNIX_TIMESTAMP(COALESCE(d.delivered_at, g.settled_at)) * 1000 AS delivered_ms
       FROM deliveries d LEFT JOIN digests g ON g.id = d.digest_id
      WHERE d.event_id IN (?)`,
    [eventIds],
  );
  const [dead] = await pool.query<RowDataPacket[]>('SELECT DISTINCT event_id FROM dead_letters WHERE event_id IN (?)', [
    eventIds,
  ]);
  const recordedAt = new Map<string, number | null>();
  for (const row of rows) {
    const eventId = String(row.event_id);
    const at = row.delivered_ms === null ? null : Number(row.delivered_ms);
    const before = recordedAt.get(eventId);
    recordedAt.set(eventId, before === undefined || before === null ? at : at === null ? before : Math.min(before, at));
  }
  return {
    ledger: rows.map((r) => ({ eventId: String(r.event_id), channel: r.channel as Channel, state: String(r.state) })),
    deadLettered: new Set(dead.map((r) => String(r.event_id))),
    recordedAt,
    unknownOutcomes: rows.reduce((sum, r) => sum + Number(r.unknown_outcomes), 0),
  };
}

/**
 * The copies that are about the load's events, of this run or another: the receivers are shared with other traffic
 * (a notification the API fuzzing run asked for, sent once workers are up, names event 0 or an event of its own),
 * which is no evidence about the load. A copy of another run's load event stays, and the verdict counts it a stray.
 */
export async function copiesOfLoadEvents(pool: Pool, copies: ReceivedCopy[]): Promise<ReceivedCopy[]> {
  const named = [...new Set(copies.map((c) => c.eventId).filter((id): id is string => id !== null && id !== '0'))];
  if (named.length === 0) return [];
  const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM order_events WHERE id IN (?) AND source LIKE ?', [
    named,
    `${loadSource}/%`,
  ]);
  const load = new Set(rows.map((r) => String(r.id)));
  return copies.filter((c) => c.eventId !== null && load.has(c.eventId));
}

/** The copies an SMTP receiver accepted. */
export const emailCopies = (messages: ReceivedMessage[]): ReceivedCopy[] =>
  messages.map((m) => ({
    channel: 'email',
    eventId: m.eventId ?? null,
    startedAt: m.startedAt,
    acceptedAt: m.acceptedAt,
  }));

/** The body of a webhook: one event's, or a digest's (`order.digest`) listing its events' own. */
type WebhookBody =
  | { type: string; data: { eventId: string } }
  | { type: 'order.digest'; data: { events: { data: { eventId: string } }[] } };

/** The deliveries a webhook endpoint accepted (answered 2xx), by the event their payload names: a digest, each it lists. */
export const webhookCopies = (requests: ReceivedWebhook[]): ReceivedCopy[] =>
  requests
    .filter((r) => typeof r.answered === 'number' && r.answered >= 200 && r.answered < 300)
    .flatMap((request) => {
      const body = JSON.parse(request.body) as WebhookBody;
      const received = { channel: 'webhook' as const, startedAt: request.startedAt, acceptedAt: request.answeredAt! };
      if ('eventId' in body.data) return [{ ...received, eventId: body.data.eventId }];
      return body.data.events.map((event, position) => ({
        ...received,
        eventId: event.data.eventId,
        inMessage: { id: request.messageId, position },
      }));
    });

/** The SMS messages the local Twilio accepted (201), by the event their text names. */
export const smsCopies = (received: (TwilioRequest & Exchange)[]): ReceivedCopy[] =>
  received
    .filter((r) => r.answered === 201)
    .map((r) => ({
      channel: 'sms',
      eventId: /Event (\d+) /.exec(r.body ?? '')?.[1] ?? null,
      startedAt: r.startedAt,
      acceptedAt: r.answeredAt!,
    }));

/** The push messages the local FCM accepted, by the event their title names. */
export const pushCopies = (received: (FcmRequest & Exchange)[]): ReceivedCopy[] =>
  received
    .filter((r) => r.message !== undefined && r.answered === 200)
    .map((r) => ({
      channel: 'push',
      eventId: /Event (\d+) /.exec(r.message?.notification?.title ?? '')?.[1] ?? null,
      startedAt: r.startedAt,
      acceptedAt: r.answeredAt!,
    }));
