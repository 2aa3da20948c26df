import { Kafka, logLevel } from 'kafkajs';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { readTopicUntil } from '../support/kafka.js';

const config = loadConfig();
let pool: Pool;

describe('Debezium change data capture', () => {
  beforeAll(() => {
    pool = createPool(config);
  });
  afterAll(async () => {
    await pool.end();
  });

  it('publishes an inserted order_events row to the topic, keyed by order id, in commit order', async () => {
    const since = Date.now();
    const customerId = await sample.customer(pool, 'CDC probe');
    const orderId = await sample.order(pool, customerId);
    const eventIds = [];
    for (const status of ['success', 'failure', 'success'] as const)
      eventIds.push(await sample.event(pool, { orderId, customerId, status }));

    const kafka = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
    const messages = await readTopicUntil(kafka, config.KAFKA_EVENTS_TOPIC, since, (seen) => {
      const ours = seen.filter((m) => m.value?.after?.order_id === Number(orderId));
      return ours.length >= eventIds.length ? ours : undefined;
    });

    expect(messages.map((m) => m.key)).toEqual(eventIds.map(() => ({ order_id: Number(orderId) })));
    expect(messages.map((m) => String(m.value?.after?.id))).toEqual(eventIds);
    expect(messages.map((m) => m.value?.op)).toEqual(['c', 'c', 'c']);
    expect(new Set(messages.map((m) => m.partition)).size).toBe(1);
    expect(messages[1]!.value?.after).toMatchObject({
      status: 'failure',
      error_code: 'E500',
      customer_id: Number(customerId),
    });
  });
});
