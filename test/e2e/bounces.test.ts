import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RowDataPacket } from 'mysql2/promise';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderlyProcess, startOrderly } from '../../scripts/orderly-processes.js';
import { sample } from '../../scripts/sample-data.js';
import { logDir } from '../../stack/paths.js';
import { loadConfig } from '../../src/config.js';
import { deliveryStatusNotification } from '../support/dsn.js';
import { deliveriesOf } from '../support/expectations.js';
import { freePort } from '../support/free-port.js';
import { type SinkMail, mailTo, waitForMail } from '../support/mail-sink.js';
import { subscribedCustomer, usePipeline } from '../support/pipeline.js';
import { until } from '../support/until.js';

const config = loadConfig();
const bouncePort = await freePort();
const context = usePipeline();
let listener: OrderlyProcess;

beforeAll(async () => {
  listener = await startOrderly('bounces', { BOUNCE_SMTP_PORT: String(bouncePort) });
});
afterAll(async () => {
  // SIGTERM: the listener stops cleanly (exit code 0).
  expect(await listener?.stop()).toBe(0);
});

/** What a receiving server does with a bounce: one SMTP transaction to the bounce address, at the listener. */
async function sendReport(to: string, raw: string): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: bouncePort, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({ envelope: { from: 'MAILER-DAEMON@mx.example.test', to }, raw });
    return info.response;
  } finally {
    transport.close();
  }
}

const envelopeSender = (mail: SinkMail) =>
  typeof mail.envelope?.from === 'string' ? mail.envelope.from : mail.envelope?.from?.address;

async function deliveryOf(eventId: string, state: string) {
  return until(`the delivery of event ${eventId} ${state}`, async () => {
    const rows = await deliveriesOf(context.pool, [eventId]);
    return rows[0]?.state === state ? rows[0] : undefined;
  });
}

async function reportsTo(address: string) {
  const [rows] = await context.pool.query<RowDataPacket[]>(
    'SELECT id, outcome, detail, status_code, raw FROM inbound_reports WHERE rcpt_to = ? ORDER BY id',
    [address],
  );
  return rows;
}

describe("the recipient's side: bounces", () => {
  let bounceAddress: string;

  it('a permanent failure (RFC 3464 DSN, 5.1.1) bounces the delivery, suppresses the address, and the next event is not sent', async () => {
    const { pool } = context;
    const { customerId, orderId, user } = await subscribedCustomer(pool);
    const address = user.email!;
    const first = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const [mail] = await waitForMail((mails) => mailTo(mails, address), 1);
    expect(mail, 'the first mail arrives').toBeDefined();
    bounceAddress = envelopeSender(mail!)!;
    expect(bounceAddress, 'the envelope sender is a per-delivery bounce address (VERP)').toMatch(
      new RegExp(`^bounce\\+[0-9a-f.]+@${config.BOUNCE_DOMAIN.replace(/\./g, '\\.')}$`),
    );
    expect(bounceAddress.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(mail!.headers.from, 'the header From stays MAIL_FROM').toContain('notifications@orderly.local');
    await deliveryOf(first, 'delivered');

    const dsn = deliveryStatusNotification({ to: bounceAddress, finalRecipient: address });
    expect(await sendReport(bounceAddress, dsn)).toMatch(/^250/);

    const bounced = await deliveryOf(first, 'bounced');
    expect(bounced.reason).toBe('bounced: 5.1.1 (smtp; 550 5.1.1 user unknown)');
    expect(bounced.last_error).toBe('smtp; 550 5.1.1 user unknown');
    const [suppressions] = await pool.query<RowDataPacket[]>(
      'SELECT reason, status_code, diagnostic, suppressed, last_seen_at FROM email_suppressions WHERE address = ?',
      [address],
    );
    expect(suppressions).toMatchObject([
      { reason: 'permanent', status_code: '5.1.1', diagnostic: 'smtp; 550 5.1.1 user unknown', suppressed: 1 },
    ]);
    const [report] = await reportsTo(bounceAddress);
    expect(report).toMatchObject({ outcome: 'applied', status_code: '5.1.1' });
    expect((report!.raw as Buffer).toString()).toBe(dsn);

    const next = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const suppressed = await deliveryOf(next, 'suppressed');
    const on = (suppressions[0]!.last_seen_at as Date).toISOString().slice(0, 10);
    expect(suppressed.reason).toBe(`address bounced on ${on}: 5.1.1`);
    // The ledger records the decision before any send; give a wrongly started send time to arrive anyway.
    await sleep(3_000);
    const mails = await waitForMail((all) => mailTo(all, address), 1, { timeoutMs: 0 });
    expect(
      mails.map((m) => m.headers['x-orderly-event-id']),
      'the sink saw no SMTP transaction for the suppressed address',
    ).toEqual([first]);
  });

  it('refuses mail for anything but a valid bounce address at RCPT', async () => {
    await expect(sendReport(`someone@${config.BOUNCE_DOMAIN}`, 'Subject: hi\r\n\r\nhello\r\n')).rejects.toMatchObject({
      responseCode: 550,
    });
    const forged = bounceAddress.replace(/[0-9a-f]@/, (m) => (m[0] === '0' ? '1@' : '0@'));
    await expect(sendReport(forged, 'Subject: hi\r\n\r\nhello\r\n')).rejects.toMatchObject({ responseCode: 550 });
  });

  it('keeps and logs a malformed report, survives a reset connection, and still takes the next valid report', async () => {
    const before = (await reportsTo(bounceAddress)).length;
    const garbage =
      'Subject: Re: your order\r\nContent-Type: multipart/report; boundary=x\r\n\r\n--x\r\n\x00\xff broken';
    expect(await sendReport(bounceAddress, garbage)).toMatch(/^250/);
    const kept = (await reportsTo(bounceAddress)).slice(before);
    expect(kept).toMatchObject([{ outcome: 'unparseable' }]);
    expect(kept[0]!.detail).toMatch(/^not a delivery status notification/);
    const log = readFileSync(join(logDir, 'test-bounces.log'), 'utf8');
    expect(log).toContain(`"reportId":${kept[0]!.id},"outcome":"unparseable"`);

    // A client that resets its connection mid-session (ECONNRESET on the listener's side).
    const socket = connect(bouncePort, '127.0.0.1');
    await new Promise((resolve) => socket.once('data', resolve));
    socket.write('EHLO reset.example.test\r\n');
    socket.resetAndDestroy();
    await sleep(200);

    const transient = deliveryStatusNotification({
      to: bounceAddress,
      finalRecipient: 'x@example.test',
      status: '4.2.2',
    });
    expect(await sendReport(bounceAddress, transient)).toMatch(/^250/);
    expect((await reportsTo(bounceAddress)).slice(before).map((r) => r.outcome as string)).toEqual([
      'unparseable',
      'applied',
    ]);
    expect(listener.child.exitCode, 'the listener is still running').toBeNull();
  });

  it('counts transient failures (4.x.x) and suppresses the address at BOUNCE_TRANSIENT_LIMIT; the delivery stays delivered', async () => {
    const { pool } = context;
    const { customerId, orderId, user } = await subscribedCustomer(pool);
    const address = user.email!;
    const event = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'failure' });
    const [mail] = await waitForMail((mails) => mailTo(mails, address), 1);
    const to = envelopeSender(mail!)!;
    await deliveryOf(event, 'delivered');
    const suppression = async () => {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT reason, status_code, transient_count, suppressed FROM email_suppressions WHERE address = ?',
        [address],
      );
      return rows[0];
    };
    const report = deliveryStatusNotification({ to, finalRecipient: address, status: '4.2.2' });
    for (let n = 1; n <= config.BOUNCE_TRANSIENT_LIMIT; n++) {
      expect(await suppression(), `before report ${n}`).toMatchObject(
        n === 1 ? {} : { transient_count: n - 1, suppressed: 0 },
      );
      expect(await sendReport(to, report)).toMatch(/^250/);
    }
    expect(await suppression()).toEqual({
      reason: 'transient',
      status_code: '4.2.2',
      transient_count: config.BOUNCE_TRANSIENT_LIMIT,
      suppressed: 1,
    });
    const [row] = await deliveriesOf(pool, [event]);
    expect([row!.state, row!.last_error]).toEqual([
      'delivered',
      'transient bounce: 4.2.2 (smtp; 452 4.2.2 mailbox full)',
    ]);
  });
});
