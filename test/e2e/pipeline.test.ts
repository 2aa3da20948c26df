import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SampleUser, sample } from '../../scripts/sample-data.js';
import { loadConfig } from '../../src/config.js';
import { workflowIds } from '../../src/domain.js';
import { createPool } from '../../src/db/pool.js';
import { type ExpectedMail, checkDeliveries, deliveriesOf } from '../support/expectations.js';
import { metricsOf, valueOf } from '../support/metrics.js';
import { type SinkMail, mailTo, waitForMail } from '../support/mail-sink.js';
import { type OrderlyProcess, metricsPortsOf, startPipeline, stopAll } from '../../scripts/orderly-processes.js';
import { subscribedCustomer } from '../support/pipeline.js';
import { dataConverterOf } from '../../src/payload-codec.js';

const config = loadConfig();
let pool: Pool;
let processes: OrderlyProcess[];

describe('pipeline: order_events rows become emails', () => {
  beforeAll(async () => {
    pool = createPool(config);
    processes = await startPipeline();
  });
  afterAll(async () => {
    const exitCodes = await Promise.all(processes.map((p) => p.stop()));
    await pool.end();
    expect(exitCodes, 'every process exits cleanly on SIGTERM').toEqual(processes.map(() => 0));
  });

  it('delivers 200 events over 20 orders: one correct email per subscribed user and event, in order, none lost or doubled', async () => {
    const run = randomUUID().slice(0, 8);
    const customerId = await sample.customer(pool, `Pipeline ${run}`);
    const address = (name: string) => `${name}.${run}@example.test`;
    const everything = await sample.user(pool, customerId, 'Ada Lovelace', address('ada'));
    const failuresOnly = await sample.user(pool, customerId, 'Bob', address('bob'));
    const muted = await sample.user(pool, customerId, 'Cy', address('cy'));
    const otherFlow = await sample.user(pool, customerId, 'Dan', address('dan'));
    const unsubscribed = await sample.user(pool, customerId, 'Eve', address('eve'));
    await sample.subscription(pool, everything.id);
    await sample.subscription(pool, failuresOnly.id, { onSuccess: false });
    await sample.subscription(pool, muted.id, { muted: true });
    await sample.subscription(pool, otherFlow.id, { flowId: 'F9999' });

    const orders = [];
    for (let i = 0; i < 20; i++) orders.push(await sample.order(pool, customerId));
    // Round-robin over orders, so each order's events are interleaved with the others' in the binlog.
    const events: {
      id: string;
      orderId: string;
      status: 'success' | 'failure';
      executionMs: number;
      errorCode: string | null;
    }[] = [];
    for (let step = 0; step < 10; step++) {
      for (const [index, orderId] of orders.entries()) {
        const status = (step + index) % 4 === 3 ? 'failure' : 'success';
        const executionMs = 100 * step + index + 1;
        const errorCode = status === 'failure' ? `E${400 + step}` : null;
        const id = await sample.event(pool, {
          orderId,
          customerId,
          status,
          executionMs,
          errorCode,
          errorDesc: status === 'failure' ? `step ${step} of order ${orderId} failed` : null,
        });
        events.push({ id, orderId, status, executionMs, errorCode });
      }
    }
    const failures = events.filter((e) => e.status === 'failure');
    expect(events).toHaveLength(200);
    expect(failures.length).toBeGreaterThan(20);

    const expected: ExpectedMail[] = [
      ...events.map((e) => ({ eventId: e.id, orderId: e.orderId, address: everything.email! })),
      ...failures.map((e) => ({ eventId: e.id, orderId: e.orderId, address: failuresOnly.email! })),
    ];
    const ours = (mails: SinkMail[]) =>
      mails.filter((m) => m.to.some((t) => t.address.endsWith(`.${run}@example.test`)));
    const mails = await waitForMail(ours, expected.length, { timeoutMs: 180_000, settleMs: 3_000 });

    const check = checkDeliveries(expected, mails);
    expect(check.lost, 'lost').toEqual([]);
    expect(check.duplicates, 'duplicates').toEqual([]);
    expect(check.orderViolations, 'order violations').toEqual([]);
    expect(
      check.unexpected.map((m) => m.to[0]?.address),
      'mail to muted, other-flow or unsubscribed users',
    ).toEqual([]);
    for (const user of [muted, otherFlow, unsubscribed]) expect(mailTo(mails, user.email!)).toEqual([]);

    // Content, from the sink: the seed's wording with this event's fields.
    for (const event of events) {
      const [mail] = mailTo(mails, everything.email!).filter((m) => m.headers['x-orderly-event-id'] === event.id);
      expect(mail).toBeDefined();
      expectContent(mail!, event, everything);
    }

    // The ledger agrees with the sink.
    const rows = await deliveriesOf(
      pool,
      events.map((e) => e.id),
    );
    const stateOf = (user: SampleUser) =>
      rows.filter((r) => String(r.user_id) === user.id).map((r) => `${r.state}:${r.reason ?? ''}`);
    expect(stateOf(everything)).toEqual(events.map(() => 'delivered:'));
    expect(stateOf(failuresOnly).sort()).toEqual(
      events.map((e) => (e.status === 'failure' ? 'delivered:' : 'suppressed:not subscribed to success events')).sort(),
    );
    expect(stateOf(muted)).toEqual(events.map(() => 'suppressed:muted'));
    expect(stateOf(otherFlow)).toEqual(events.map(() => 'suppressed:not subscribed to flow F1063'));
    expect(stateOf(unsubscribed)).toEqual([]);
  });
});

describe('pipeline: metrics', () => {
  let processes: OrderlyProcess[];
  beforeAll(async () => {
    processes = await startPipeline();
  });
  afterAll(() => stopAll(processes));

  it("every process serves Prometheus metrics: ingest, deliveries, attempts, latency, and the Temporal SDK's own", async () => {
    const metricsPool = createPool(config);
    const { customerId, orderId, user } = await subscribedCustomer(metricsPool);
    await sample.event(metricsPool, { orderId, customerId, status: 'success' });
    await waitForMail((all) => mailTo(all, user.email!), 1, { settleMs: 500 });
    await metricsPool.end();

    const ingest = await metricsOf(metricsPortsOf('ingest').metrics);
    expect(valueOf(ingest, 'orderly_ingest_messages_total', { outcome: 'accepted' })).toBeGreaterThan(0);
    expect(valueOf(ingest, 'orderly_ingest_consumer_lag', {})).toBeGreaterThanOrEqual(0);
    // A send that succeeds at its first attempt happens in the workflow worker (a local activity).
    const workflowWorker = await metricsOf(metricsPortsOf('workflow-worker').metrics);
    expect(
      valueOf(workflowWorker, 'orderly_notifications_total', { channel: 'email', outcome: 'delivered' }),
    ).toBeGreaterThan(0);
    expect(
      valueOf(workflowWorker, 'orderly_send_attempts_total', { channel: 'email', result: 'sent' }),
    ).toBeGreaterThan(0);
    expect(valueOf(workflowWorker, 'orderly_delivery_latency_seconds_count', { channel: 'email' })).toBeGreaterThan(0);
    for (const sender of ['email-worker', 'webhook-worker'] as const) {
      expect(
        valueOf(await metricsOf(metricsPortsOf(sender).metrics), 'orderly_process_cpu_seconds_total', {}),
      ).toBeGreaterThan(0);
    }
    for (const worker of ['workflow-worker', 'email-worker', 'webhook-worker'] as const)
      expect(await metricsOf(metricsPortsOf(worker).temporal!)).toMatch(/^temporal_/m);
  });
});

describe('pipeline: a long order', () => {
  let longPool: Pool;
  let longProcesses: OrderlyProcess[];
  beforeAll(async () => {
    longPool = createPool(config);
    longProcesses = await startPipeline();
  });
  afterAll(async () => {
    await Promise.all(longProcesses.map((p) => p.stop()));
    await longPool.end();
  });

  it('notifies 60 events of one order in order, each in its own workflow whose history does not grow with the queue', async () => {
    const run = randomUUID().slice(0, 8);
    const customerId = await sample.customer(longPool, `Long order ${run}`);
    const user = await sample.user(longPool, customerId, 'Ada', `ada.long.${run}@example.test`);
    await sample.subscription(longPool, user.id);
    const orderId = await sample.order(longPool, customerId);
    const eventIds = [];
    for (let i = 0; i < 60; i++)
      eventIds.push(await sample.event(longPool, { orderId, customerId, status: i % 7 === 6 ? 'failure' : 'success' }));

    const mails = await waitForMail((all) => mailTo(all, user.email!), eventIds.length, {
      timeoutMs: 180_000,
      settleMs: 2_000,
    });
    expect(mails.map((m) => m.headers['x-orderly-event-id'])).toEqual(eventIds);

    // A notification waits for its predecessor by signal, whatever the length of the queue behind or before it.
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    const client = new Client({ connection, dataConverter: dataConverterOf(loadConfig()) });
    const lengths = [];
    for (const eventId of eventIds)
      lengths.push(
        (await client.workflow.getHandle(workflowIds.notification(eventId)).fetchHistory()).events?.length ?? 0,
      );
    await connection.close();
    expect(Math.max(...lengths)).toBeLessThanOrEqual(40);
  });
});

function expectContent(
  mail: SinkMail,
  event: { id: string; status: string; executionMs: number; errorCode: string | null; orderId: string },
  user: SampleUser,
): void {
  expect(mail.text).toContain(`Hi ${user.username},`);
  if (event.status === 'success') {
    expect(mail.subject).toBe(`Event ${event.id} processed successfully`);
    expect(mail.text).toContain(
      `your recent event with identifier ${event.id} was processed successfully in ${event.executionMs / 1000} seconds`,
    );
    expect(mail.text).toContain('this event was part of Workflow F1063 and was sourced from checkout-service');
  } else {
    expect(mail.subject).toBe(`Event ${event.id} failed: ${event.errorCode}`);
    expect(mail.text).toContain(
      `issue processing your event with identifier ${event.id} from checkout-service source for the workflow F1063`,
    );
    expect(mail.text).toContain(`${event.errorCode}: step`);
    expect(mail.text).toContain(`of order ${event.orderId} failed`);
  }
}
