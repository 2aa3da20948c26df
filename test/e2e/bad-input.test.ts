import { setTimeout as sleep } from 'node:timers/promises';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { deliveriesOf, unsettled } from '../support/expectations.js';
import { listMail, mailTo, waitForMail } from '../support/mail-sink.js';
import { subscribedCustomer, usePipeline } from '../support/pipeline.js';
import { until } from '../support/until.js';

describe('pipeline: bad and unusual input through the real path', () => {
  const pipeline = usePipeline();

  it('skips deletes and updates that keep the status, and notifies an update that changes it', async () => {
    const { customerId, orderId, user } = await subscribedCustomer(pipeline.pool);
    const eventId = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    await waitForMail((mails) => mailTo(mails, user.email!), 1, { settleMs: 0 });

    await pipeline.pool.execute("UPDATE order_events SET source = 'renamed-service' WHERE id = ?", [eventId]);
    await pipeline.pool.execute(
      "UPDATE order_events SET status = 'failure', error_code = 'E409', error_desc = 'reversed' WHERE id = ?",
      [eventId],
    );
    const throwaway = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    await pipeline.pool.execute('DELETE FROM order_events WHERE id = ?', [throwaway]);

    // The insert, the status change and the deleted row's own insert: three mails, no more.
    const mails = await waitForMail((all) => mailTo(all, user.email!), 3, { settleMs: 3_000 });
    expect(mails.map((m) => m.subject)).toEqual([
      `Event ${eventId} processed successfully`,
      `Event ${eventId} failed: E409`,
      `Event ${throwaway} processed successfully`,
    ]);
  });

  it('escapes HTML and script, keeps CR/LF out of mail headers, and keeps unicode names', async () => {
    const { customerId, orderId, user } = await subscribedCustomer(pipeline.pool, 'Zoë Łukasz 山田 <b>bold</b>');
    await sample.event(pipeline.pool, {
      orderId,
      customerId,
      status: 'failure',
      errorCode: 'E1\r\nBcc: victim@example.test',
      errorDesc: '<script>alert("x")</script> & <img src=x onerror=alert(1)>',
    });

    const [mail] = await waitForMail((all) => mailTo(all, user.email!), 1);
    expect(mail!.to.map((t) => t.address)).toEqual([user.email]);
    expect(Object.keys(mail!.headers)).not.toContain('bcc');
    expect(mail!.subject).toMatch(/^Event \d+ failed: E1 Bcc: victim@example\.test$/);
    expect(mail!.html).not.toContain('<script>');
    expect(mail!.html).not.toContain('<img src=x');
    expect(mail!.html).toContain('&lt;script&gt;');
    expect(mail!.text).toContain('Hi Zoë Łukasz 山田 <b>bold</b>,');
    expect(mail!.html).toContain('Zoë Łukasz 山田 &lt;b&gt;bold&lt;/b&gt;');
  });

  it('delivers an event with a 5 MB error description, truncated, and the next event still flows', async () => {
    const { customerId, orderId, user } = await subscribedCustomer(pipeline.pool);
    const huge = await sample.event(pipeline.pool, {
      orderId,
      customerId,
      status: 'failure',
      errorCode: 'E413',
      errorDesc: 'y'.repeat(5 * 1024 * 1024),
    });
    const next = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });

    const mails = await waitForMail((all) => mailTo(all, user.email!), 2);
    expect(mails.map((m) => m.headers['x-orderly-event-id'])).toEqual([huge, next]);
    expect(mails[0]!.text).toMatch(/E413: y{100}/);
    expect(mails[0]!.text).toMatch(/cut at 16384 characters, truncated by Orderly/);
  });

  it("captures an update of a row holding an 8 MB error description (before and after past Kafka's limits): CDC goes on, the event is delivered cut short", async () => {
    const { customerId, orderId, user } = await subscribedCustomer(pipeline.pool);
    const step = await sample.event(pipeline.pool, {
      orderId,
      customerId,
      status: 'failure',
      errorCode: 'E507',
      errorDesc: 'z'.repeat(8 * 1024 * 1024),
    });
    await waitForMail((all) => mailTo(all, user.email!), 1, { timeoutMs: 60_000 });
    // The step succeeds on a retry: the update's change event carries the 8 MB row twice, before and after.
    await pipeline.pool.query("UPDATE order_events SET status = 'success' WHERE id = ?", [step]);
    const next = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });

    const mails = await waitForMail((all) => mailTo(all, user.email!), 3, { timeoutMs: 60_000 });
    expect(mails.map((m) => m.headers['x-orderly-event-id'])).toEqual([step, step, next]);
    expect(mails[0]!.text).toMatch(/E507: z{100}/);
    expect(mails[0]!.text).toMatch(/cut at 16384 characters, truncated by Orderly/);
    expect(mails[1]!.subject).toBe(`Event ${step} processed successfully`);
  });

  it('dead-letters a user without an email address and still delivers to the others', async () => {
    const { customerId, orderId, user } = await subscribedCustomer(pipeline.pool);
    const noAddress = await sample.user(pipeline.pool, customerId, 'Nobody', null);
    await sample.subscription(pipeline.pool, noAddress.id);
    const eventId = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });

    await waitForMail((all) => mailTo(all, user.email!), 1);
    let rows = await deliveriesOf(pipeline.pool, [eventId]);
    for (let i = 0; i < 40 && rows.some(unsettled); i++) {
      await sleep(250);
      rows = await deliveriesOf(pipeline.pool, [eventId]);
    }
    expect(rows.map((r) => [String(r.user_id), r.state])).toEqual([
      [user.id, 'delivered'],
      [noAddress.id, 'dead_lettered'],
    ]);
    expect(rows[1]!.last_error).toMatch(/^InvalidRecipient: user \d+ has no valid email address \(null\)/);
  });

  it('delivers the events of a multi-row transaction in their order', async () => {
    const { customerId, orderId, user } = await subscribedCustomer(pipeline.pool);
    const connection = await pipeline.pool.getConnection();
    const ids: string[] = [];
    try {
      await connection.beginTransaction();
      for (const status of ['success', 'failure', 'success'] as const)
        ids.push(await sample.event(connection, { orderId, customerId, status }));
      await connection.commit();
    } finally {
      connection.release();
    }
    const mails = await waitForMail((all) => mailTo(all, user.email!), 3);
    expect(mails.map((m) => m.headers['x-orderly-event-id'])).toEqual(ids);
  });

  it('dead-letters an event for an unknown customer, and one whose customer does not own the order, saying which', async () => {
    const { customerId, orderId } = await subscribedCustomer(pipeline.pool);
    const other = await subscribedCustomer(pipeline.pool);
    const unknownCustomer = await sample.event(pipeline.pool, { orderId, customerId: '9000000001', status: 'success' });
    const mismatched = await sample.event(pipeline.pool, { orderId, customerId: other.customerId, status: 'success' });
    const fine = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });

    const rows = await until('the three events to settle', async () => {
      const [found] = await pipeline.pool.query<RowDataPacket[]>(
        'SELECT event_id, error_type, message FROM dead_letters WHERE event_id IN (?) ORDER BY event_id',
        [[unknownCustomer, mismatched]],
      );
      return found.length === 2 && (await deliveriesOf(pipeline.pool, [fine]))[0]?.state === 'delivered'
        ? found
        : undefined;
    });
    expect(rows).toEqual([
      { event_id: unknownCustomer, error_type: 'UnknownCustomer', message: 'customer 9000000001 does not exist' },
      {
        event_id: mismatched,
        error_type: 'CustomerMismatch',
        message: `order ${orderId} belongs to customer ${customerId}, not ${other.customerId}`,
      },
    ]);
    expect(await deliveriesOf(pipeline.pool, [unknownCustomer, mismatched])).toEqual([]);
    expect(mailTo(await listMail(), other.user.email!)).toEqual([]);
  });

  it('notifies in commit order an event that arrives late (occurred_at earlier than the one before it)', async () => {
    const { customerId, orderId, user } = await subscribedCustomer(pipeline.pool);
    const first = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const [inserted] = await pipeline.pool.execute<ResultSetHeader>(
      `INSERT INTO order_events (order_id, customer_id, flow_id, event_type, status, source, occurred_at)
       VALUES (?, ?, 'F1063', 'order.step.failed', 'failure', 'late-reporter', NOW(6) - INTERVAL 1 HOUR)`,
      [orderId, customerId],
    );
    const late = String(inserted.insertId);
    const mails = await waitForMail((all) => mailTo(all, user.email!), 2);
    expect(mails.map((m) => m.headers['x-orderly-event-id'])).toEqual([first, late]);
  });
});
