import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { sample } from '../scripts/sample-data.js';
import type { InsertedEvent } from './analysis.js';

/** The orders a load is spread over; each order's customer has one subscribed user, so one notification per event. */
export interface LoadFixture {
  orders: { orderId: string; customerId: string }[];
}

/** The `source` column of every event a load writes: how its rows are found again. */
export const loadSource = 'load-generator';

/**
 * With `webhookUrl`, each customer's user hears through a webhook endpoint at that URL instead of by email; with
 * `sms`, by SMS (a phone number of its own per customer).
 */
export async function createLoadFixture(
  pool: Pool,
  orderCount: number,
  { customers = 10, webhookUrl, sms = false }: { customers?: number; webhookUrl?: string; sms?: boolean } = {},
): Promise<LoadFixture> {
  const run = randomUUID().slice(0, 8);
  const orders = [];
  for (let c = 0; c < customers; c++) {
    const customerId = await sample.customer(pool, `Load ${run} #${c}`);
    const user = await sample.user(pool, customerId, `load-${c}`, `load-${c}.${run}@example.test`);
    const endpoint = webhookUrl === undefined ? undefined : await sample.webhookEndpoint(pool, customerId, webhookUrl);
    await sample.subscription(
      pool,
      user.id,
      endpoint !== undefined ? { endpointId: endpoint.id } : sms ? { channel: 'sms' } : {},
    );
    if (sms)
      await pool.execute('INSERT INTO phone_numbers (customer_id, user_id, e164) VALUES (?, ?, ?)', [
        customerId,
        user.id,
        `+1415555${3000 + c}`,
      ]);
    for (let o = 0; o < orderCount / customers; o++)
      orders.push({ orderId: await sample.order(pool, customerId), customerId });
  }
  return { orders };
}

/** Inserts `count` events over random orders in one multi-row statement (one commit); every fifth is a failure. */
export async function insertEvents(pool: Pool, fixture: LoadFixture, count: number): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => {
    const { orderId, customerId } = fixture.orders[Math.floor(Math.random() * fixture.orders.length)]!;
    const failure = i % 5 === 4;
    return [
      orderId,
      customerId,
      'F1063',
      failure ? 'step.failed' : 'step.completed',
      failure ? 'failure' : 'success',
      loadSource,
      250,
      failure ? 'E500' : null,
      failure ? 'load failure' : null,
    ];
  });
  await pool.query(
    'INSERT INTO order_events (order_id, customer_id, flow_id, event_type, status, source, execution_ms, error_code, error_desc) VALUES ?',
    [rows],
  );
}

/**
 * Inserts events at `rate` per second for `seconds`, calling `onTick` about every 20 ms (for sampling).
 * Returns how many it inserted. A failed INSERT (database restarting) is retried: the load keeps its rate.
 */
export async function insertAtRate(
  pool: Pool,
  fixture: LoadFixture,
  rate: number,
  seconds: number,
  onTick: (inserted: number) => void = () => {},
): Promise<number> {
  const started = Date.now();
  const end = started + seconds * 1000;
  let inserted = 0;
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - inserted;
    if (due > 0) {
      try {
        await insertEvents(pool, fixture, due);
        inserted += due;
      } catch {
        // The database is down (a fault being injected): the upstream system would retry too.
      }
    }
    onTick(inserted);
    await sleep(20);
  }
  return inserted;
}

/** The load's events written after `afterId`, with MySQL's commit-time stamp. */
export async function eventsSince(pool: Pool, afterId: string): Promise<InsertedEvent[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT id, order_id, UNIX_TIMESTAMP(occurred_at) * 1000 AS occurred_ms FROM order_events WHERE id > ? AND source = ? ORDER BY id',
    [afterId, loadSource],
  );
  return rows.map((r) => ({ eventId: String(r.id), orderId: String(r.order_id), occurredAtMs: Number(r.occurred_ms) }));
}

export async function maxEventId(pool: Pool): Promise<string> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS id FROM order_events');
  return String(rows[0]!.id);
}
