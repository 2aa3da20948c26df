import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { workflowIds } from '../../src/domain.js';
import { deliveriesOf, unsettled } from '../support/expectations.js';
import { type FaultySmtp, startFaultySmtp } from '../support/faulty-smtp.js';
import { orderly } from '../support/orderly-cli.js';
import { until } from '../support/until.js';
import { type OrderlyProcess, startOrderly, startPipeline, stopAll } from '../../scripts/orderly-processes.js';
import { dataConverterOf } from '../../src/payload-codec.js';
import { createLinkSigner } from '../../src/recipient-links.js';
import { freePort } from '../support/free-port.js';

const config = loadConfig();
let pool: Pool;
let smtp: FaultySmtp;
let processes: OrderlyProcess[];
let connection: Connection;

async function finalStates(eventIds: string[]): Promise<Awaited<ReturnType<typeof deliveriesOf>> | undefined> {
  const rows = await deliveriesOf(pool, eventIds);
  return rows.length === eventIds.length && !rows.some(unsettled) ? rows : undefined;
}

describe('pipeline: delivery failures', () => {
  beforeAll(async () => {
    pool = createPool(config);
    smtp = await startFaultySmtp();
    // The email worker sends to the fault-injecting server instead of the sink.
    processes = await startPipeline({ SMTP_PORT: String(smtp.port) });
    connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  });
  afterAll(async () => {
    await stopAll(processes);
    await smtp.close();
    await connection.close();
    await pool.end();
  });

  async function customerWithOneRecipient(email: string) {
    const customerId = await sample.customer(pool, `Failures ${randomUUID()}`);
    const user = await sample.user(pool, customerId, 'Grace', email);
    await sample.subscription(pool, user.id);
    const orderId = await sample.order(pool, customerId);
    return { customerId, orderId, user };
  }

  it('delivers after retries while the SMTP server answers 451 for a while', async () => {
    const { customerId, orderId } = await customerWithOneRecipient(`grace.${randomUUID()}@example.test`);
    smtp.deferUntil = Date.now() + 4_000;
    const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });

    const [row] = await until('the delivery to settle', () => finalStates([eventId]));
    expect(row).toMatchObject({ state: 'delivered' });
    expect(row!.attempts).toBeGreaterThan(1);
    expect(smtp.received.filter((m) => m.eventId === eventId)).toHaveLength(1);
  });

  it("dead-letters a permanent 5xx with its reason, and the order's following events are still delivered", async () => {
    const { customerId, orderId } = await customerWithOneRecipient(`grace.${randomUUID()}@example.test`);
    const marker = `REJECT-${randomUUID()}`;
    smtp.rejectMarker = marker;
    const rejected = await sample.event(pool, {
      orderId,
      customerId,
      status: 'failure',
      errorCode: 'E554',
      errorDesc: marker,
    });
    const next = [
      await sample.event(pool, { orderId, customerId, status: 'success' }),
      await sample.event(pool, { orderId, customerId, status: 'success' }),
    ];

    const rows = await until('all deliveries to settle', () => finalStates([rejected, ...next]));
    expect(rows.map((r) => r.state)).toEqual(['dead_lettered', 'delivered', 'delivered']);
    expect(rows[0]!.last_error).toMatch(/^SmtpPermanentFailure: .*554 5\.7\.1 Message rejected by policy/);
    expect(smtp.received.filter((m) => m.eventId === rejected)).toEqual([]);
    expect(smtp.received.filter((m) => next.includes(m.eventId ?? '')).map((m) => m.eventId)).toEqual(next);

    const [deadLetters] = await pool.query<RowDataPacket[]>(
      'SELECT error_type, message FROM dead_letters WHERE event_id = ?',
      [rejected],
    );
    expect(deadLetters.map((d) => String(d.error_type))).toEqual(['SmtpPermanentFailure']);
    expect(deadLetters[0]!.message).toContain('554');
  });

  it('dead-letters an event for an unknown order with the reason, and records no delivery for it', async () => {
    const { customerId } = await customerWithOneRecipient(`grace.${randomUUID()}@example.test`);
    const unknownOrderId = String(9_000_000_000 + Math.floor(Math.random() * 1_000_000));
    const orphan = await sample.event(pool, { orderId: unknownOrderId, customerId, status: 'success' });
    const [row] = await until('the dead letter', async () => {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT error_type, message, user_id FROM dead_letters WHERE event_id = ?',
        [orphan],
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(row).toMatchObject({
      error_type: 'UnknownOrder',
      message: `order ${unknownOrderId} does not exist`,
      user_id: '0',
    });
    expect(await deliveriesOf(pool, [orphan])).toEqual([]);
    // The notification workflow dead-letters the event itself and completes (it does not fail).
    const outcome: unknown = await new Client({ connection, dataConverter: dataConverterOf(loadConfig()) }).workflow
      .getHandle(workflowIds.notification(orphan))
      .result();
    expect(outcome).toMatchObject({ status: 'dead_lettered', deadLettered: 1 });
  });

  it('dead-letters a recipient without a valid address, without trying to send', async () => {
    const { customerId, orderId } = await customerWithOneRecipient('not-an-address');
    const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });

    const [row] = await until('the delivery to settle', () => finalStates([eventId]));
    expect(row).toMatchObject({ state: 'dead_lettered', attempts: 1 });
    expect(row!.last_error).toMatch(/^InvalidRecipient: .*no valid email address/);
    const outcome: unknown = await new Client({ connection, dataConverter: dataConverterOf(loadConfig()) }).workflow
      .getHandle(workflowIds.notification(eventId))
      .result();
    expect(outcome).toMatchObject({ status: 'dead_lettered', deadLettered: 1 });
  });

  /**
   * An event whose one delivery is being retried (every attempt answered 451, three seconds after it began), with
   * `meanwhile` done while an attempt is in flight; then the server accepts, so an attempt that still went out would
   * arrive. None may: the delivery ends suppressed with `reason`, the notification too, and nothing is dead-lettered.
   */
  async function expectSuppressedWhileRetrying(meanwhile: (userId: string) => Promise<void>, reason: string) {
    const { customerId, orderId, user } = await customerWithOneRecipient(`retried.${randomUUID()}@example.test`);
    smtp.deferUntil = Date.now() + 120_000;
    smtp.deferReplyMs = 3_000;
    try {
      const eventId = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
      await until('an attempt in flight', async () => {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT state FROM deliveries WHERE event_id = ?', [eventId]);
        return rows[0]?.state === 'sending' ? true : undefined;
      });
      await meanwhile(user.id);
      smtp.deferUntil = 0;
      const outcome: unknown = await new Client({ connection, dataConverter: dataConverterOf(loadConfig()) }).workflow
        .getHandle(workflowIds.notification(eventId))
        .result();
      expect(smtp.received.filter((m) => m.eventId === eventId)).toEqual([]);
      expect((await deliveriesOf(pool, [eventId]))[0]).toMatchObject({ state: 'suppressed', reason });
      const [deadLetters] = await pool.query<RowDataPacket[]>('SELECT 1 FROM dead_letters WHERE event_id = ?', [
        eventId,
      ]);
      expect(deadLetters).toEqual([]);
      expect(outcome).toMatchObject({ status: 'suppressed', suppressed: 1, deadLettered: 0 });
    } finally {
      smtp.deferUntil = 0;
      smtp.deferReplyMs = 0;
    }
  }

  const today = () => new Date().toISOString().slice(0, 10);

  it('a delivery retrying when its recipient is erased ends suppressed as erased: no mail goes out, no dead letter', async () => {
    await expectSuppressedWhileRetrying(async (userId) => {
      expect((await orderly('recipients', 'erase', userId)).code).toBe(0);
    }, `recipient erased on ${today()}`);
  }, 120_000);

  it("a delivery retrying when its recipient unsubscribes with the mail's one-click link goes no further", async () => {
    const apiPort = await freePort();
    const api = await startOrderly('api', { API_PORT: String(apiPort) });
    try {
      await expectSuppressedWhileRetrying(async (userId) => {
        // The link an earlier mail of the same flow carried (the development signing key, as the API's).
        const token = await createLinkSigner('').sign({ userId, channel: 'email', flowId: 'F1063', status: 'success' });
        const unsubscribed = await fetch(`http://127.0.0.1:${apiPort}/v1/unsubscribe/one-click?token=${token}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        });
        expect(unsubscribed.status).toBe(200);
      }, `unsubscribed by the recipient on ${today()}`);
    } finally {
      await stopAll([api]);
    }
  }, 120_000);
});
