import type { Pool, RowDataPacket } from 'mysql2/promise';
import { expect } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import type { OptOutSource } from '../../src/operations/recipient-opt-outs.js';
import { deliveriesOf } from './expectations.js';
import { type SinkMail, mailTo, waitForMail } from './mail-sink.js';
import { until } from './until.js';

/** The mails of one event. */
export const ofEvent = (mails: SinkMail[], eventId: string) =>
  mails.filter((m) => m.headers['x-orderly-event-id'] === eventId);

/**
 * After a recipient turned off flow F1063's success mails by email (through `source`): that is the one opt-out
 * recorded, and of the next three events only that flow's success is held back, recorded `suppressed` with
 * "unsubscribed by the recipient on <the day>", while its failure and flow F2001's success are mailed.
 */
export async function expectOnlyFlowSuccessTurnedOff(
  pool: Pool,
  {
    userId,
    email,
    customerId,
    orderId,
    source,
  }: { userId: string; email: string; customerId: string; orderId: string; source: OptOutSource },
): Promise<void> {
  const [optOuts] = await pool.query<RowDataPacket[]>(
    'SELECT channel, flow_id, status, source, created_at FROM recipient_opt_outs WHERE user_id = ?',
    [userId],
  );
  expect(optOuts.map(({ created_at: _, ...scope }) => scope)).toEqual([
    { channel: 'email', flow_id: 'F1063', status: 'success', source },
  ]);
  const on = (optOuts[0]!.created_at as Date).toISOString().slice(0, 10);

  const suppressed = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
  const failure = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'failure' });
  const otherFlow = await sample.event(pool, { orderId, customerId, flowId: 'F2001', status: 'success' });
  const mails = await waitForMail((all) => mailTo(all, email), 3);
  expect(ofEvent(mails, failure), "that flow's failure mail still arrives").toHaveLength(1);
  expect(ofEvent(mails, otherFlow), "another flow's success mail still arrives").toHaveLength(1);
  expect(ofEvent(mails, suppressed), 'no mail of the success event turned off').toEqual([]);
  const [row] = await until('the suppressed delivery', async () => {
    const rows = await deliveriesOf(pool, [suppressed]);
    return rows.length > 0 ? rows : undefined;
  });
  expect([row!.state, row!.reason]).toEqual(['suppressed', `unsubscribed by the recipient on ${on}`]);
}
