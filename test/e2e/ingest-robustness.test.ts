import { randomUUID } from 'node:crypto';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { restart } from '../../stack/lifecycle.js';
import { connectorName, local } from '../../stack/local-settings.js';
import { loadConfig } from '../../src/config.js';
import { produce as produceTo, readTopicUntil } from '../support/kafka.js';
import { subscribedCustomer, usePipeline } from '../support/pipeline.js';
import { until } from '../support/until.js';
import { type SinkMail, mailTo, waitForMail } from '../support/mail-sink.js';

const config = loadConfig();
const kafka = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
const connectUrl = `http://127.0.0.1:${local.connectPorts[0]}`;
const pipeline = usePipeline();

async function connectRequest(method: string, path: string): Promise<void> {
  const response = await fetch(`${connectUrl}${path}`, { method });
  if (!response.ok)
    throw new Error(`Kafka Connect ${method} ${path} answered ${response.status}: ${await response.text()}`);
}

async function connectorStatus(): Promise<{ connector: { state: string }; tasks: { state: string }[] }> {
  return (await (await fetch(`${connectUrl}/connectors/${connectorName}/status`)).json()) as {
    connector: { state: string };
    tasks: { state: string }[];
  };
}

const connectorReaches = (what: string, reached: (status: Awaited<ReturnType<typeof connectorStatus>>) => boolean) =>
  until(`the Debezium connector ${what}`, async () => (reached(await connectorStatus()) ? true : undefined), 60_000);

async function subscribedCustomerAddress() {
  const { customerId, orderId, user } = await subscribedCustomer(pipeline.pool);
  return { customerId, orderId, address: user.email! };
}

/**
 * A connector without offsets reports RUNNING before it has taken its new binlog position; rows written in
 * between are, by design (snapshot.mode=no_data), never captured. Probe rows on another order say when
 * capture is live again.
 */
async function untilCapturing(): Promise<void> {
  const probe = await subscribedCustomerAddress();
  await until('Debezium to capture again', async () => {
    await sample.event(pipeline.pool, { orderId: probe.orderId, customerId: probe.customerId, status: 'success' });
    // waitForMail hands back what it has when its time is up, which may be nothing: capture is live once a probe's
    // mail has arrived.
    const mails = await waitForMail((all) => mailTo(all, probe.address), 1, { timeoutMs: 3_000, settleMs: 0 });
    return mails.length > 0 ? true : undefined;
  });
}

const eventIdsOf = (mails: SinkMail[]) => mails.map((m) => m.headers['x-orderly-event-id']);

const produce = (messages: Parameters<typeof produceTo>[2]) => produceTo(kafka, config.KAFKA_EVENTS_TOPIC, messages);

describe('ingest: redeliveries, bad messages and connector restarts', () => {
  it('sends one email when the same change event arrives twice on Kafka', async () => {
    const since = Date.now();
    const { customerId, orderId, address } = await subscribedCustomerAddress();
    const eventId = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const original = await readTopicUntil(kafka, config.KAFKA_EVENTS_TOPIC, since, (seen) =>
      seen.find((m) => String(m.value?.after?.id) === eventId),
    );
    await waitForMail((mails) => mailTo(mails, address), 1, { settleMs: 0 });

    await produce([{ key: JSON.stringify(original.key), value: original.raw }]);
    const second = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });

    const mails = await waitForMail((all) => mailTo(all, address), 2, { settleMs: 3_000 });
    expect(eventIdsOf(mails)).toEqual([eventId, second]);
  });

  it('sends a malformed message to the dead-letter topic with its reason and keeps going', async () => {
    const since = Date.now();
    const { customerId, orderId, address } = await subscribedCustomerAddress();
    const marker = randomUUID();
    await produce([
      { key: JSON.stringify({ order_id: Number(orderId) }), value: `not json ${marker}` },
      {
        key: JSON.stringify({ order_id: Number(orderId) }),
        value: JSON.stringify({ op: 'c', marker, after: { id: 'x' }, source: { table: 'order_events' } }),
      },
      { key: JSON.stringify({ order_id: Number(orderId) }), value: null },
    ]);
    const eventId = await sample.event(pipeline.pool, { orderId, customerId, status: 'failure' });

    const mails = await waitForMail((all) => mailTo(all, address), 1);
    expect(eventIdsOf(mails)).toEqual([eventId]);
    const deadLettered = await readTopicUntil(kafka, config.KAFKA_DEAD_LETTER_TOPIC, since, (seen) => {
      const ours = seen.filter((m) => m.raw?.toString('utf8').includes(marker));
      return ours.length >= 2 ? ours : undefined;
    });
    expect(deadLettered.map((m) => m.headers['orderly-reason'])).toEqual([
      'value is not JSON',
      expect.stringMatching(/^not a Debezium change event: .*before|^order_events row is invalid/),
    ]);
    expect(deadLettered[0]!.raw?.toString('utf8')).toBe(`not json ${marker}`);
  });

  it("dead-letters a change event MySQL refuses for good (an order id past BIGINT) and delivers the partition's next event", async () => {
    const since = Date.now();
    const { customerId, orderId, address } = await subscribedCustomerAddress();
    const first = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const original = await readTopicUntil(kafka, config.KAFKA_EVENTS_TOPIC, since, (seen) =>
      seen.find((m) => String(m.value?.after?.id) === first),
    );
    await waitForMail((mails) => mailTo(mails, address), 1, { settleMs: 0 });
    // A producer other than Debezium writes an order id no BIGINT holds, under the order's own key (its partition).
    const value = original.value as { after: Record<string, unknown> };
    const marker = randomUUID();
    const tooBig = {
      ...value,
      after: { ...value.after, id: `${first}999`, order_id: '99999999999999999999', error_desc: marker },
    };
    await produce([{ key: JSON.stringify(original.key), value: JSON.stringify(tooBig) }]);
    const next = await sample.event(pipeline.pool, { orderId, customerId, status: 'failure' });

    const mails = await waitForMail((all) => mailTo(all, address), 2, { timeoutMs: 30_000 });
    expect(eventIdsOf(mails)).toEqual([first, next]);
    const [deadLettered] = await readTopicUntil(kafka, config.KAFKA_DEAD_LETTER_TOPIC, since, (seen) => {
      const ours = seen.filter((m) => m.raw?.toString('utf8').includes(marker));
      return ours.length >= 1 ? ours : undefined;
    });
    expect(deadLettered!.headers['orderly-reason']).toMatch(/^rejected for good: .*order_id/);
  });

  it("a lane that fails (the dead-letter topic refusing writes) during a one-order burst of 60 leaves the order's notifications in commit order, none twice", async () => {
    const since = Date.now();
    const { customerId, orderId, address } = await subscribedCustomerAddress();
    const admin = kafka.admin();
    await admin.connect();
    const dlq = config.KAFKA_DEAD_LETTER_TOPIC;
    const maxMessageBytes = (value?: string) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: dlq,
            configEntries: value === undefined ? [] : [{ name: 'max.message.bytes', value }],
          },
        ],
      });
    try {
      await admin.createTopics({ topics: [{ topic: dlq }] });
      // The dead-letter topic takes no message over 64 bytes: every write to it is refused (a real fault).
      await maxMessageBytes('64');
      const partitions = (await admin.fetchTopicMetadata({ topics: [config.KAFKA_EVENTS_TOPIC] })).topics[0]!
        .partitions;
      const events: string[] = [];
      for (let i = 0; i < 60; i++) {
        events.push(await sample.event(pipeline.pool, { orderId, customerId, status: i % 3 ? 'success' : 'failure' }));
        // Mid-burst, a malformed message on another key in every partition: its lane fails beside the order's.
        if (i === 20)
          await produce(
            partitions.map(({ partitionId }) => ({
              key: JSON.stringify({ order_id: -partitionId - 1 }),
              value: `lane failure ${partitionId}`,
              partition: partitionId,
            })),
          );
      }
      await sleep(15_000);
      await maxMessageBytes();
      const mails = await waitForMail((all) => mailTo(all, address), 60, { timeoutMs: 120_000, settleMs: 3_000 });
      expect(eventIdsOf(mails)).toEqual(events);
      const deadLettered = await readTopicUntil(kafka, dlq, since, (seen) => {
        const ours = seen.filter((m) => m.raw?.toString('utf8').startsWith('lane failure'));
        return ours.length >= partitions.length ? ours : undefined;
      });
      expect(deadLettered.map((m) => m.headers['orderly-reason'])).toEqual(partitions.map(() => 'value is not JSON'));
    } finally {
      await maxMessageBytes();
      await admin.disconnect();
    }
  });

  it('does not re-send old rows when Kafka Connect restarts', async () => {
    const { customerId, orderId, address } = await subscribedCustomerAddress();
    const before = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    await waitForMail((mails) => mailTo(mails, address), 1, { settleMs: 0 });

    await restart('debezium');
    const after = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });

    const mails = await waitForMail((all) => mailTo(all, address), 2, { settleMs: 3_000 });
    expect(eventIdsOf(mails)).toEqual([before, after]);
  });

  it('does not re-publish old rows when the connector starts anew, without offsets', async () => {
    const since = Date.now();
    const { customerId, orderId, address } = await subscribedCustomerAddress();
    const old = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    await waitForMail((mails) => mailTo(mails, address), 1, { settleMs: 0 });

    // Stop the connector, forget where it was in the binlog, start it again: it is a new connector now.
    await connectRequest('PUT', `/connectors/${connectorName}/stop`);
    await connectorReaches('to stop', (status) => status.connector.state === 'STOPPED');
    await connectRequest('DELETE', `/connectors/${connectorName}/offsets`);
    await connectRequest('PUT', `/connectors/${connectorName}/resume`);
    await connectorReaches('to run again', (status) => status.tasks[0]?.state === 'RUNNING');
    await untilCapturing();
    const fresh = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });

    const mails = await waitForMail((all) => mailTo(all, address), 2, { settleMs: 3_000 });
    expect(eventIdsOf(mails)).toEqual([old, fresh]);
    const onTopic = await readTopicUntil(kafka, config.KAFKA_EVENTS_TOPIC, since, (seen) => {
      const ours = seen.filter((m) => m.value?.after?.order_id === Number(orderId));
      return ours.some((m) => String(m.value?.after?.id) === fresh) ? ours : undefined;
    });
    expect(onTopic.map((m) => String(m.value?.after?.id))).toEqual([old, fresh]);
  });
});
