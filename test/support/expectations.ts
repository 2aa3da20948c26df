import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { SinkMail } from './mail-sink.js';

export interface ExpectedMail {
  eventId: string;
  orderId: string;
  address: string;
}

export interface DeliveryCheck {
  lost: ExpectedMail[];
  duplicates: { eventId: string; address: string; count: number }[];
  unexpected: SinkMail[];
  /** Pairs of events of one order that reached one recipient in the wrong order. */
  orderViolations: { orderId: string; address: string; received: string[] }[];
}

/**
 * Compares what the sink received with what MySQL says should have been sent: every expected mail
 * exactly once, nothing else, and per order and recipient in event-id order (the sink's receive order).
 */
export function checkDeliveries(expected: ExpectedMail[], mails: SinkMail[]): DeliveryCheck {
  const received = new Map<string, SinkMail[]>();
  const expectedKeys = new Set(expected.map((e) => `${e.eventId}/${e.address}`));
  const unexpected: SinkMail[] = [];
  for (const mail of mails) {
    const eventId = mail.headers['x-orderly-event-id'] ?? '';
    for (const { address } of mail.to) {
      const key = `${eventId}/${address}`;
      if (!expectedKeys.has(key)) unexpected.push(mail);
      else received.set(key, [...(received.get(key) ?? []), mail]);
    }
  }
  const lost = expected.filter((e) => !received.has(`${e.eventId}/${e.address}`));
  const duplicates = [...received.entries()]
    .filter(([, copies]) => copies.length > 1)
    .map(([key, copies]) => ({ eventId: key.split('/')[0]!, address: key.split('/')[1]!, count: copies.length }));

  const orderViolations: DeliveryCheck['orderViolations'] = [];
  const byOrderAndAddress = new Map<string, string[]>();
  for (const mail of mails) {
    const orderId = mail.headers['x-orderly-order-id'];
    const eventId = mail.headers['x-orderly-event-id'];
    if (orderId === undefined || eventId === undefined) continue;
    for (const { address } of mail.to) {
      if (!expectedKeys.has(`${eventId}/${address}`)) continue;
      const key = `${orderId}/${address}`;
      byOrderAndAddress.set(key, [...(byOrderAndAddress.get(key) ?? []), eventId]);
    }
  }
  for (const [key, eventIds] of byOrderAndAddress) {
    const sorted = [...eventIds].sort((a, b) => Number(a) - Number(b));
    if (sorted.join() !== eventIds.join())
      orderViolations.push({ orderId: key.split('/')[0]!, address: key.split('/')[1]!, received: eventIds });
  }
  return { lost, duplicates, unexpected, orderViolations };
}

/** A delivery still on its way: recorded (`pending`) or claimed by a send in flight (`sending`). */
export const unsettled = (row: { state: string }): boolean => row.state === 'pending' || row.state === 'sending';

export interface DeliveryRow extends RowDataPacket {
  event_id: string;
  user_id: string;
  state: string;
  reason: string | null;
  attempts: number;
  last_error: string | null;
}

export async function deliveriesOf(pool: Pool, eventIds: string[]): Promise<DeliveryRow[]> {
  if (eventIds.length === 0) return [];
  const [rows] = await pool.query<DeliveryRow[]>(
    'SELECT event_id, user_id, state, reason, attempts, last_error FROM deliveries WHERE event_id IN (?) ORDER BY event_id, user_id',
    [eventIds],
  );
  return rows;
}
