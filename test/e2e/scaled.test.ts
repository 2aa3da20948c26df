import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderlyProcess, startOrderly } from '../../scripts/orderly-processes.js';
import { sample } from '../../scripts/sample-data.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { workflowIds } from '../../src/domain.js';
import { type ExpectedMail, checkDeliveries } from '../support/expectations.js';
import { mailTo, waitForMail } from '../support/mail-sink.js';
import { until } from '../support/until.js';
import { dataConverterOf } from '../../src/payload-codec.js';

const config = loadConfig();
const pool = createPool(config);
let processes: OrderlyProcess[] = [];

describe('processes scaled on their own', () => {
  beforeAll(async () => {
    // The second copy of a process serves its metrics on any free port (the SDK's: none); the rest is the same.
    const second = { METRICS_PORT: '0', TEMPORAL_METRICS_PORT: '0' };
    processes = await Promise.all([
      startOrderly('workflow-worker', {}, { logPrefix: 'scaled-1-' }),
      startOrderly('workflow-worker', second, { logPrefix: 'scaled-2-' }),
      startOrderly('ingest', {}, { logPrefix: 'scaled-1-' }),
      startOrderly('ingest', second, { logPrefix: 'scaled-2-' }),
      startOrderly('email-worker', {}, { logPrefix: 'scaled-1-' }),
      startOrderly('webhook-worker', {}, { logPrefix: 'scaled-1-' }),
    ]);
  });
  afterAll(async () => {
    const codes = await Promise.all(processes.map((p) => p.stop()));
    await pool.end();
    expect(codes).toEqual(processes.map(() => 0));
  });

  it('two ingest processes and two workflow workers share the work: every event delivered once, each order in order', async () => {
    const kafka = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const members = await until('both ingest processes to hold partitions', async () => {
      const { groups } = await admin.describeGroups([config.KAFKA_GROUP_ID]);
      const group = groups[0];
      return group?.state === 'Stable' && group.members.length === 2 ? group.members : undefined;
    });
    await admin.disconnect();
    expect(members).toHaveLength(2);

    const run = randomUUID().slice(0, 8);
    const customerId = await sample.customer(pool, `Scaled ${run}`);
    const user = await sample.user(pool, customerId, 'Grace', `grace.scaled.${run}@example.test`);
    await sample.subscription(pool, user.id);
    const orders = [];
    for (let i = 0; i < 20; i++) orders.push(await sample.order(pool, customerId));
    const expected: ExpectedMail[] = [];
    for (let step = 0; step < 10; step++) {
      for (const orderId of orders)
        expected.push({
          eventId: await sample.event(pool, { orderId, customerId, status: 'success' }),
          orderId,
          address: user.email!,
        });
    }

    const mails = await waitForMail((all) => mailTo(all, user.email!), expected.length, {
      timeoutMs: 180_000,
      settleMs: 3_000,
    });
    const check = checkDeliveries(expected, mails);
    expect(check.lost).toEqual([]);
    expect(check.duplicates).toEqual([]);
    expect(check.orderViolations).toEqual([]);

    // Both workflow workers ran notification workflows (each history names the worker that completed its tasks).
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    const client = new Client({ connection, dataConverter: dataConverterOf(loadConfig()) });
    const identities = new Set<string>();
    for (const { eventId } of expected) {
      const history = await client.workflow.getHandle(workflowIds.notification(eventId)).fetchHistory();
      for (const event of history.events ?? [])
        if (event.workflowTaskCompletedEventAttributes?.identity)
          identities.add(event.workflowTaskCompletedEventAttributes.identity);
    }
    await connection.close();
    const workerPids = processes.filter((p) => p.name === 'workflow-worker').map((p) => String(p.child.pid));
    expect(workerPids.filter((pid) => [...identities].some((identity) => identity.startsWith(`${pid}@`)))).toEqual(
      workerPids,
    );
  });
});
