import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { type EndpointSpec, sample } from '../scripts/sample-data.js';
import type { WrittenEvent } from './verdict.js';

/** The orders a load is spread over; each order's customer has one subscribed user, so one notification per event. */
export interface LoadFixture {
  orders: { orderId: string; customerId: string }[];
  /** The customers' webhook endpoints, when they are subscribed through one. */
  endpointIds: string[];
}

/** The `source` column of every event a load writes: how its rows are found again. */
export const loadSource = 'load-generator';

/**
 * With `webhookUrl`, each customer's user hears through a webhook endpoint at that URL instead of by email; with
 * `channel` `sms`, by SMS (a phone number of its own per customer); with `push`, by push (an FCM device of its own).
 */
export async function createLoadFixture(
  pool: Pool,
  orderCount: number,
  {
    customers = 10,
    webhookUrl,
    endpointPolicy = {},
    channel = 'email',
    digest,
  }: {
    customers?: number;
    webhookUrl?: string;
    endpointPolicy?: EndpointSpec;
    channel?: 'email' | 'sms' | 'push';
    /** The subscriptions collect digests. */
    digest?: { windowS: number; maxItems?: number };
  } = {},
): Promise<LoadFixture> {
  const run = randomUUID().slice(0, 8);
  const orders = [];
  const endpointIds = [];
  for (let c = 0; c < customers; c++) {
    const customerId = await sample.customer(pool, `Load ${run} #${c}`);
    const user = await sample.user(pool, customerId, `load-${c}`, `load-${c}.${run}@example.test`);
    const endpoint =
      webhookUrl === undefined ? undefined : await sample.webhookEndpoint(pool, customerId, webhookUrl, endpointPolicy);
    if (endpoint !== undefined) endpointIds.push(endpoint.id);
    await sample.subscription(pool, user.id, {
      ...(endpoint !== undefined ? { endpointId: endpoint.id } : channel === 'email' ? {} : { channel }),
      ...(digest === undefined ? {} : { digest }),
    });
    if (channel === 'push') {
      const token = `bench-device-${run}-${c}`;
      await pool.execute(
        "INSERT INTO push_registrations (customer_id, user_id, kind, token, address_hash) VALUES (?, ?, 'fcm', ?, SHA2(?, 256))",
        [customerId, user.id, token, token],
      );
    }
    if (channel === 'sms')
      await pool.execute('INSERT INTO phone_numbers (customer_id, user_id, e164) VALUES (?, ?, ?)', [
        customerId,
        user.id,
        `+1415555${3000 + c}`,
      ]);
    for (let o = 0; o < orderCount / customers; o++)
      orders.push({ orderId: await sample.order(pool, customerId), customerId });
  }
  return { orders, endpointIds };
}

/**
 * Bursts that stress per-order ordering: every `everyS` seconds, `size` events for one of the first `hotOrders` orders
 * in one commit, interleaved with the steady load spread over all orders. Off with `size` 0.
 */
export interface BurstShape {
  size: number;
  everyS: number;
  hotOrders: number;
}

export const defaultBursts: BurstShape = { size: 20, everyS: 4, hotOrders: 5 };

let batches = 0;
/** A new batch's `source` tag, so that a batch whose commit the client never saw can be found again. */
const nextBatchSource = () => `${loadSource}/${process.pid}/${++batches}`;

/**
 * Inserts `count` events in one multi-row statement (one commit), tagged `source`: over random orders, or all for
 * `burstOrder`. Every fifth is a failure.
 */
export async function insertEvents(
  pool: Pool,
  fixture: LoadFixture,
  count: number,
  { burstOrder, source = nextBatchSource() }: { burstOrder?: LoadFixture['orders'][number]; source?: string } = {},
): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => {
    const { orderId, customerId } = burstOrder ?? fixture.orders[Math.floor(Math.random() * fixture.orders.length)]!;
    const failure = i % 5 === 4;
    return [
      orderId,
      customerId,
      'F1063',
      failure ? 'step.failed' : 'step.completed',
      failure ? 'failure' : 'success',
      source,
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

/** A connection-level failure (the database restarting): whether the batch committed is unknown until it is back. */
const databaseUnreachable = (error: unknown): boolean => {
  const { fatal, code } = error as { fatal?: boolean; code?: string };
  return (
    fatal === true ||
    ['ECONNREFUSED', 'ECONNRESET', 'PROTOCOL_CONNECTION_LOST', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED'].includes(
      code ?? '',
    )
  );
};

/** How many rows of the batches whose commit the client did not see are in MySQL, once it answers again. */
async function rowsOfUncertainBatches(pool: Pool, sources: string[]): Promise<number> {
  if (sources.length === 0) return 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM order_events WHERE source IN (?)', [
        sources,
      ]);
      return Number(rows[0]!.n);
    } catch (error) {
      if (!databaseUnreachable(error) || attempt >= 60) throw error;
      await sleep(1_000);
    }
  }
}

/**
 * Inserts events at `rate` per second for `seconds`, with `bursts` on a few orders among them, calling `onTick`
 * about every 20 ms (for sampling). Returns how many rows it wrote: a batch that failed because the database was
 * unreachable (a fault being injected) is retried, as the upstream system would, and counted if it committed after
 * all; any other error ends the load, so a load broken by a schema change fails loudly instead of writing nothing.
 */
export async function insertAtRate(
  pool: Pool,
  fixture: LoadFixture,
  rate: number,
  seconds: number,
  { bursts = defaultBursts, onTick = () => {} }: { bursts?: BurstShape; onTick?: (inserted: number) => void } = {},
): Promise<number> {
  const started = Date.now();
  const end = started + seconds * 1000;
  const uncertain: string[] = [];
  let inserted = 0;
  let nextBurst = started + bursts.everyS * 1000;
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - inserted;
    const burstDue = bursts.size > 0 && Date.now() >= nextBurst;
    if (due > 0 || burstDue) {
      const hot = fixture.orders[Math.floor(Math.random() * Math.min(bursts.hotOrders, fixture.orders.length))]!;
      const batch = burstDue
        ? [{ count: bursts.size, order: hot }, ...(due > bursts.size ? [{ count: due - bursts.size }] : [])]
        : [{ count: due }];
      for (const { count, order } of batch) {
        const source = nextBatchSource();
        try {
          await insertEvents(pool, fixture, count, { burstOrder: order, source });
          inserted += count;
        } catch (error) {
          if (!databaseUnreachable(error)) throw error;
          uncertain.push(source);
        }
      }
      if (burstDue) nextBurst += bursts.everyS * 1000;
    }
    onTick(inserted);
    await sleep(20);
  }
  return inserted + (await rowsOfUncertainBatches(pool, uncertain));
}

/** The load's events written after `afterId`, with MySQL's commit-time stamp. */
export async function eventsSince(pool: Pool, afterId: string): Promise<WrittenEvent[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT id, order_id, UNIX_TIMESTAMP(occurred_at) * 1000 AS occurred_ms FROM order_events WHERE id > ? AND source LIKE ? ORDER BY id',
    [afterId, `${loadSource}/%`],
  );
  return rows.map((r) => ({ eventId: String(r.id), orderId: String(r.order_id), occurredAtMs: Number(r.occurred_ms) }));
}

export async function maxEventId(pool: Pool): Promise<string> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS id FROM order_events');
  return String(rows[0]!.id);
}
