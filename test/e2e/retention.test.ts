import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { deliveriesOf } from '../support/expectations.js';
import { mailTo, waitForMail } from '../support/mail-sink.js';
import { orderly } from '../support/orderly-cli.js';
import { subscribedCustomer, usePipeline } from '../support/pipeline.js';
import { until } from '../support/until.js';

// Rows settled more than 3 s ago are pruned, every second: the whole life of a row fits in the test.
const context = usePipeline({ RETENTION_S: '3', RETENTION_PRUNE_EVERY_S: '1' });

const count = async (pool: Pool, sql: string, values: string[]) =>
  Number((await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${sql}`, values))[0][0]!.n);

const runsOf = (pool: Pool, orderId: string) =>
  pool.query<RowDataPacket[]>(
    'SELECT workflow_id, settled_at IS NOT NULL AS settled FROM notification_runs WHERE order_id = ? ORDER BY created_at',
    [orderId],
  );

describe('retention (issue 26): settled rows older than RETENTION_S are pruned in the background', () => {
  it('prunes what settled, keeps what an order still waits on, during a load whose every notification goes out once, in commit order', async () => {
    const { pool } = context;
    // A: three events, all delivered: everything of them goes.
    const a = await subscribedCustomer(pool);
    const aEvents: string[] = [];
    for (const status of ['success', 'failure', 'success'] as const)
      aEvents.push(await sample.event(pool, { orderId: a.orderId, customerId: a.customerId, status }));
    await waitForMail((mails) => mailTo(mails, a.user.email!), 3);

    // B: its first goes to one user; its second to another, in quiet hours: it waits (unsettled), the third behind it.
    const b = { customerId: await sample.customer(pool, `Retention ${Date.now()}`) };
    const bOrder = await sample.order(pool, b.customerId);
    const [ann, bob] = [
      await sample.user(pool, b.customerId, 'Ann', `ann.${bOrder}@example.test`),
      await sample.user(pool, b.customerId, 'Bob', `bob.${bOrder}@example.test`),
    ];
    await sample.subscription(pool, ann.id, { flowId: 'F1' });
    await sample.subscription(pool, bob.id, { flowId: 'F2' });
    const hhmm = (offsetH: number) => new Date(Date.now() + offsetH * 3_600_000).toISOString().slice(11, 16);
    await pool.query(
      "INSERT INTO quiet_hours (user_id, customer_id, time_zone, starts_at, ends_at, channels) VALUES (?, ?, 'UTC', ?, ?, 'email')",
      [bob.id, b.customerId, hhmm(-1), hhmm(1)],
    );
    const bEvent = (flowId: string) =>
      sample.event(pool, { orderId: bOrder, customerId: b.customerId, flowId, status: 'success' });
    const b1 = await bEvent('F1');
    const b2 = await bEvent('F2');
    const b3 = await bEvent('F1');
    await waitForMail((mails) => mailTo(mails, ann.email!), 1);

    // C: a load of 40 events in bursts over about 8 s, while pruning runs every second.
    const c = await subscribedCustomer(pool);
    const cEvents: string[] = [];
    for (let burst = 0; burst < 8; burst++) {
      for (let i = 0; i < 5; i++)
        cEvents.push(
          await sample.event(pool, {
            orderId: c.orderId,
            customerId: c.customerId,
            status: i % 2 ? 'failure' : 'success',
          }),
        );
      await sleep(1_000);
    }

    await until('A pruned', async () =>
      (await count(pool, 'deliveries WHERE event_id IN (?, ?, ?)', aEvents)) === 0 &&
      (await count(pool, 'notification_runs WHERE order_id = ?', [a.orderId])) === 0 &&
      (await count(pool, 'notification_chain WHERE order_id = ?', [a.orderId])) === 0
        ? true
        : undefined,
    );
    // B's first is settled and old (its finished delivery is pruned), but the waiting second follows it: its run
    // stays, and so do the waiting ones and the chain's end.
    await until("B1's delivery pruned", async () => ((await deliveriesOf(pool, [b1])).length === 0 ? true : undefined));
    const [bRuns] = await runsOf(pool, bOrder);
    expect(bRuns.map((run) => [String(run.workflow_id), Number(run.settled)])).toEqual([
      [`notification:${b1}`, 1],
      [`notification:${b2}`, 0],
      [`notification:${b3}`, 0],
    ]);
    expect(await count(pool, 'notification_chain WHERE order_id = ?', [bOrder])).toBe(1);

    expect((await orderly('retry', b2)).code, 'B2 goes now, quiet hours or not').toBe(0);
    const bMails = await waitForMail(
      (mails) => mails.filter((mail) => mailTo([mail], ann.email!).length + mailTo([mail], bob.email!).length > 0),
      3,
    );
    expect(bMails.map((mail) => [mail.to[0]?.address, mail.headers['x-orderly-event-id']])).toEqual([
      [ann.email, b1],
      [bob.email, b2],
      [ann.email, b3],
    ]);
    const cMails = await waitForMail((mails) => mailTo(mails, c.user.email!), cEvents.length);
    expect(
      cMails.map((mail) => mail.headers['x-orderly-event-id']),
      'every one of C, once, in commit order',
    ).toEqual(cEvents);
  });
});
