import type { RowDataPacket } from 'mysql2/promise';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { loadConfig } from '../../src/config.js';
import { produce, readTopicUntil } from '../support/kafka.js';
import { mailTo, waitForMail } from '../support/mail-sink.js';
import { orderly } from '../support/orderly-cli.js';
import { subscribedCustomer, usePipeline } from '../support/pipeline.js';

const config = loadConfig();
const kafka = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
const pipeline = usePipeline();

describe('completion aggregation (seed 002)', () => {
  it('sends one "order complete" once the three steps have succeeded, in any order, one delivered twice by Kafka, before the order\'s next mail', async () => {
    const { pool } = pipeline;
    const { customerId, orderId, user } = await subscribedCustomer(pool);
    const set = await orderly(
      'flow',
      'completion',
      'set',
      customerId,
      'F1063',
      'order.placed',
      'payment.captured',
      'order.shipped',
    );
    expect(set.stdout).toContain('complete when order.placed, payment.captured, order.shipped succeeded');
    const step = (eventType: string, status: 'success' | 'failure' = 'success') =>
      sample.event(pool, { orderId, customerId, flowId: 'F1063', eventType, status });

    const since = Date.now();
    const shipped = await step('order.shipped');
    const placed = await step('order.placed');
    // Kafka delivers the placed step's change event a second time.
    const original = await readTopicUntil(kafka, config.KAFKA_EVENTS_TOPIC, since, (seen) =>
      seen.find((m) => String(m.value?.after?.id) === placed),
    );
    await produce(kafka, config.KAFKA_EVENTS_TOPIC, [{ key: JSON.stringify(original.key), value: original.raw }]);
    const declined = await step('payment.captured', 'failure');
    const captured = await step('payment.captured');
    const shippedAgain = await step('order.shipped');
    const delivered = await step('order.delivered');

    const mails = await waitForMail((all) => mailTo(all, user.email!), 7, { settleMs: 3_000 });
    expect(mails.map((m) => m.subject)).toEqual([
      `Event ${shipped} processed successfully`,
      `Event ${placed} processed successfully`,
      `Event ${declined} failed: E500`,
      `Event ${captured} processed successfully`,
      `Order ${orderId} is complete`,
      `Event ${shippedAgain} processed successfully`,
      `Event ${delivered} processed successfully`,
    ]);
    expect(mails[4]!.text).toContain('every step of Workflow F1063 has succeeded, the last one payment.captured');
    const [[completion]] = await pool.query<RowDataPacket[]>(
      'SELECT notification_id FROM order_completions WHERE order_id = ? AND flow_id = ?',
      [orderId, 'F1063'],
    );
    expect(completion).toEqual({ notification_id: captured });
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT notification_id, state FROM deliveries WHERE event_id = ? ORDER BY notification_id',
      [captured],
    );
    expect(rows).toEqual([
      { notification_id: captured, state: 'delivered' },
      { notification_id: `${captured}:completed`, state: 'delivered' },
    ]);
  });
});
