import { randomUUID } from 'node:crypto';
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
import { complaintAddress, loadConfig } from '../../src/config.js';
import { apiKeyOperations } from '../../src/operations/api-keys.js';
import { abuseReport, deliveryStatusNotification } from '../support/dsn.js';
import { deliveriesOf } from '../support/expectations.js';
import { freePort } from '../support/free-port.js';
import { type SinkMail, mailSource, mailTo, waitForMail } from '../support/mail-sink.js';
import { metricsOf, valueOf } from '../support/metrics.js';
import { orderly } from '../support/orderly-cli.js';
import { subscribedCustomer, usePipeline } from '../support/pipeline.js';
import { until } from '../support/until.js';

const config = loadConfig();
const complaints = complaintAddress(config);
const [bouncePort, metricsPort, apiPort] = [await freePort(), await freePort(), await freePort()];
const context = usePipeline();
let listener: OrderlyProcess;
let api: OrderlyProcess;

beforeAll(async () => {
  [listener, api] = await Promise.all([
    startOrderly('bounces', { BOUNCE_SMTP_PORT: String(bouncePort), METRICS_PORT: String(metricsPort) }),
    startOrderly('api', { API_PORT: String(apiPort), METRICS_PORT: '0' }),
  ]);
});
afterAll(async () => {
  // SIGTERM: the listener stops cleanly (exit code 0).
  expect(await listener?.stop()).toBe(0);
  await api?.stop();
});

/** What a receiving server does with a bounce (or a feedback loop with a complaint): one SMTP transaction. */
async function sendReport(to: string, raw: string, from = 'MAILER-DAEMON@mx.example.test'): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: bouncePort, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({ envelope: { from, to }, raw });
    return info.response;
  } finally {
    transport.close();
  }
}

/** A request to the API with a key; its status and JSON body. */
async function call(key: string, method: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}` },
  });
  return { status: response.status, body: await response.json() };
}

async function suppressionOf(address: string) {
  const [rows] = await context.pool.query<RowDataPacket[]>(
    'SELECT reason, status_code, transient_count, suppressed FROM email_suppressions WHERE address = ?',
    [address],
  );
  return rows[0];
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
  /** The first test's customer, order and address, which it leaves suppressed. */
  let firstBounce: { customerId: string; orderId: string; address: string };

  it('a permanent failure (RFC 3464 DSN, 5.1.1) bounces the delivery, suppresses the address, and the next event is not sent', async () => {
    const { pool } = context;
    const { customerId, orderId, user } = await subscribedCustomer(pool);
    const address = user.email!;
    firstBounce = { customerId, orderId, address };
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

  it("a bounce for a delivery that no longer names its address suppresses nothing, whatever the report's Final-Recipient says", async () => {
    const { pool } = context;
    const { customerId, orderId, user } = await subscribedCustomer(pool);
    const first = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const [mail] = await waitForMail((mails) => mailTo(mails, user.email!), 1);
    const to = envelopeSender(mail!)!;
    await deliveryOf(first, 'delivered');
    // Its address erased (issue 26): the bounce address still names the delivery, but not whom it went to.
    await pool.query("UPDATE deliveries SET recipient = NULL WHERE event_id = ? AND channel = 'email'", [first]);
    const victim = `victim.${randomUUID()}@example.test`;
    expect(await sendReport(to, deliveryStatusNotification({ to, finalRecipient: victim }))).toMatch(/^250/);
    const report = await until('the report recorded', async () => (await reportsTo(to))[0]);
    expect(report).toMatchObject({ outcome: 'unmatched' });
    expect(await suppressionOf(victim)).toBeUndefined();
  });

  it('`orderly suppressions clear` takes the address off the list, audited: the next event is delivered again', async () => {
    const { pool } = context;
    const { customerId, orderId, address } = firstBounce;
    const listed = await orderly('suppressions', 'list', '--address', address, '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      { address, reason: 'permanent', statusCode: '5.1.1', suppressed: true },
    ]);

    const cleared = await orderly('suppressions', 'clear', address);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toContain(`${address}: cleared (was permanent 5.1.1)`);
    expect(await suppressionOf(address)).toBeUndefined();
    const [audit] = await pool.query<RowDataPacket[]>(
      "SELECT actor, outcome FROM audit_log WHERE action = 'suppressions clear' AND target = ?",
      [address],
    );
    expect(audit).toMatchObject([{ actor: expect.stringMatching(/^cli:/) as string, outcome: 'ok' }]);

    const again = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'failure' });
    await deliveryOf(again, 'delivered');
    const mails = await waitForMail((all) => mailTo(all, address), 2);
    expect(mails.map((m) => m.headers['x-orderly-event-id'])).toContain(again);

    const twice = await orderly('suppressions', 'clear', address);
    expect([twice.code, twice.stderr.trim()]).toEqual([1, `orderly: there is no suppression of ${address}`]);
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
    const suppression = () => suppressionOf(address);
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

    // Clearing (an operator's key, through the API) resets the count: the next transient failure is the first.
    const { key } = await apiKeyOperations({ pool }).create('bounces test operator');
    const cleared = await call(key, 'DELETE', `/v1/suppressions/${encodeURIComponent(address)}`);
    expect(cleared).toMatchObject({ status: 200, body: { address, transientCount: config.BOUNCE_TRANSIENT_LIMIT } });
    expect(await sendReport(to, report)).toMatch(/^250/);
    expect(await suppression()).toMatchObject({ transient_count: 1, suppressed: 0 });
  });
});

describe("the recipient's side: complaints (RFC 5965 ARF)", () => {
  const today = () => new Date().toISOString().slice(0, 10);

  /** A user of a new customer who got one mail: the mail as received, and what names its delivery. */
  async function userWithMail() {
    const { pool } = context;
    const { customerId, orderId, user } = await subscribedCustomer(pool);
    const first = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const [mail] = await waitForMail((mails) => mailTo(mails, user.email!), 1);
    await deliveryOf(first, 'delivered');
    return {
      customerId,
      orderId,
      user,
      first,
      original: await mailSource(mail!.id),
      returnPath: envelopeSender(mail!)!,
    };
  }

  const complaintOptOuts = async (userId: string) =>
    (
      await context.pool.query<RowDataPacket[]>(
        'SELECT channel, flow_id, status, source FROM recipient_opt_outs WHERE user_id = ?',
        [userId],
      )
    )[0];

  const reportsFrom = async (afterId: number) =>
    (
      await context.pool.query<RowDataPacket[]>(
        'SELECT id, rcpt_to, kind, outcome, detail, user_id, raw FROM inbound_reports WHERE id > ? AND rcpt_to = ? ORDER BY id',
        [afterId, complaints],
      )
    )[0];
  const lastReportId = async () =>
    Number(
      (await context.pool.query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS id FROM inbound_reports'))[0][0]!.id,
    );

  it('an abuse report at the complaint address unsubscribes the user from all email: the next success and failure (another flow) are suppressed with the reason, and the sink sees nothing', async () => {
    const { pool } = context;
    const { customerId, orderId, user, first, original, returnPath } = await userWithMail();
    const before = await lastReportId();
    // The feedback loop returns the mail as the recipient's server got it, Return-Path (our bounce address) on top.
    const report = abuseReport({ to: complaints, original, returnPath });
    expect(await sendReport(complaints, report, 'fbl@mailbox.example.test')).toMatch(/^250/);

    expect(await complaintOptOuts(user.id)).toEqual([
      { channel: 'email', flow_id: null, status: 'both', source: 'complaint' },
    ]);
    const kept = await reportsFrom(before);
    expect(kept).toMatchObject([{ kind: 'feedback-report', outcome: 'applied', user_id: String(user.id) }]);
    expect(kept[0]!.detail).toBe(`abuse complaint: user ${user.id} unsubscribed from all email`);
    expect((kept[0]!.raw as Buffer).toString()).toBe(report);

    const success = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const failure = await sample.event(pool, { orderId, customerId, flowId: 'F2000', status: 'failure' });
    for (const event of [success, failure])
      expect((await deliveryOf(event, 'suppressed')).reason).toBe(`marked as spam by the recipient on ${today()}`);
    // The ledger records the decision before any send; give a wrongly started send time to arrive anyway.
    await sleep(3_000);
    const mails = await waitForMail((all) => mailTo(all, user.email!), 1, { timeoutMs: 0 });
    expect(
      mails.map((m) => m.headers['x-orderly-event-id']),
      'no SMTP transaction after the complaint',
    ).toEqual([first]);
  });

  it('a complaint whose original lost its envelope sender (no Return-Path, no Original-Mail-From) is matched by the X-Orderly-Delivery header', async () => {
    const { user, original } = await userWithMail();
    expect(original).toMatch(/^X-Orderly-Delivery: /m);
    expect(await sendReport(complaints, abuseReport({ to: complaints, original }))).toMatch(/^250/);
    expect(await complaintOptOuts(user.id)).toMatchObject([{ source: 'complaint', flow_id: null, status: 'both' }]);
  });

  it('keeps and logs a malformed complaint and one naming no delivery of ours, changes nothing, and keeps running', async () => {
    const before = await lastReportId();
    const malformed = abuseReport({ to: complaints, original: 'Subject: hi\r\n\r\nhi\r\n' }).replace(
      'Feedback-Type: abuse\r\n',
      '',
    );
    expect(await sendReport(complaints, malformed)).toMatch(/^250/);
    // A forged reference: the shape of a bounce token, but a MAC no key made.
    const forged = 'bounce+1.0123456789abcdef.0123456789ab@' + config.BOUNCE_DOMAIN;
    const unmatched = abuseReport({ to: complaints, original: 'Subject: hi\r\n\r\nhi\r\n', returnPath: forged });
    expect(await sendReport(complaints, unmatched)).toMatch(/^250/);

    const kept = await reportsFrom(before);
    expect(kept).toMatchObject([
      { kind: null, outcome: 'unparseable', detail: 'no Feedback-Type in the message/feedback-report part' },
      {
        kind: 'feedback-report',
        outcome: 'unmatched',
        detail: 'names no delivery of ours (no verifiable bounce address or token)',
        user_id: null,
      },
    ]);
    expect((kept[0]!.raw as Buffer).toString()).toBe(malformed);
    // The log line follows the report's row: read the log once it is there.
    const logged = new RegExp(
      `"reportId":${kept[1]!.id},"outcome":"unmatched".*"msg":"bounce report matches nothing; kept"`,
    );
    const log = await until('the unmatched report logged', () => {
      const text = readFileSync(join(logDir, 'test-bounces.log'), 'utf8');
      return Promise.resolve(logged.test(text) ? text : undefined);
    });
    expect(log).toContain(`"reportId":${kept[0]!.id},"outcome":"unparseable"`);
    expect(listener.child.exitCode, 'the listener is still running').toBeNull();
  });

  it('counts bounces and complaints per customer, and reports by kind and outcome, at /metrics', async () => {
    const { customerId, user, original, returnPath } = await userWithMail();
    const reports = async () => {
      const text = await metricsOf(metricsPort);
      return [
        ['delivery-status', 'applied'],
        ['feedback-report', 'applied'],
        ['unknown', 'unparseable'],
      ].map(
        ([kind, outcome]) => valueOf(text, 'orderly_inbound_reports_total', { kind: kind!, outcome: outcome! }) ?? 0,
      );
    };
    const before = await reports();
    const bounce = deliveryStatusNotification({ to: returnPath, finalRecipient: user.email! });
    expect(await sendReport(returnPath, bounce)).toMatch(/^250/);
    expect(await sendReport(complaints, abuseReport({ to: complaints, original, returnPath }))).toMatch(/^250/);
    expect(await sendReport(complaints, 'Subject: not a report\r\n\r\nhello\r\n')).toMatch(/^250/);

    const metrics = await metricsOf(metricsPort);
    const customer = { customer_id: customerId };
    expect(valueOf(metrics, 'orderly_bounces_total', { ...customer, kind: 'permanent' })).toBe(1);
    expect(valueOf(metrics, 'orderly_bounces_total', { ...customer, kind: 'transient' })).toBeUndefined();
    expect(valueOf(metrics, 'orderly_complaints_total', customer)).toBe(1);
    expect((await reports()).map((after, i) => after - before[i]!)).toEqual([1, 1, 1]);
  });
});

describe("suppressions in the API: each customer sees its own users' addresses", () => {
  it("a customer's key lists and clears only its own users' addresses; one shared with another customer's user is the operators' to clear", async () => {
    const { pool } = context;
    const tag = randomUUID().slice(0, 8);
    const [a, b] = [await subscribedCustomer(pool), await subscribedCustomer(pool)];
    const shared = `shared.${tag}@example.test`;
    await sample.user(pool, a.customerId, 'Shared at A', shared);
    await sample.user(pool, b.customerId, 'Shared at B', shared);
    const [ownA, ownB] = [a.user.email!, b.user.email!];
    for (const address of [ownA, ownB, shared])
      await pool.query(
        "INSERT INTO email_suppressions (address, reason, status_code, suppressed) VALUES (?, 'permanent', '5.1.1', TRUE)",
        [address],
      );
    const keys = apiKeyOperations({ pool });
    const [keyA, keyB, operator] = [
      (await keys.create('suppressions A', a.customerId)).key,
      (await keys.create('suppressions B', b.customerId)).key,
      (await keys.create('suppressions operator')).key,
    ];
    const addressesOf = (body: unknown) => (body as { address: string }[]).map((s) => s.address);
    const path = (address: string) => `/v1/suppressions/${encodeURIComponent(address)}`;

    // The shared address bounced on B's mail: its diagnostic (what B's recipient's server said) is B's, not A's.
    await pool.query("UPDATE email_suppressions SET diagnostic = 'smtp; 550 mailbox of B full' WHERE address = ?", [
      shared,
    ]);
    await pool.query('UPDATE email_suppressions SET last_customer_id = ? WHERE address = ?', [b.customerId, shared]);
    const diagnosticOf = (body: unknown) =>
      (body as { address: string; diagnostic: string | null }[]).find((s) => s.address === shared)?.diagnostic;
    expect(diagnosticOf((await call(keyA, 'GET', '/v1/suppressions')).body)).toBeNull();
    expect(diagnosticOf((await call(keyB, 'GET', '/v1/suppressions')).body)).toBe('smtp; 550 mailbox of B full');
    expect(diagnosticOf((await call(operator, 'GET', '/v1/suppressions')).body)).toBe('smtp; 550 mailbox of B full');
    expect(addressesOf((await call(keyA, 'GET', '/v1/suppressions')).body)).toEqual([ownA, shared]);
    expect(addressesOf((await call(keyB, 'GET', '/v1/suppressions')).body)).toEqual([ownB, shared]);
    expect((await call(keyA, 'GET', `/v1/suppressions?customer=${b.customerId}`)).body).toEqual([]);
    expect((await call(keyA, 'GET', `/v1/suppressions?address=${encodeURIComponent(ownB)}`)).body).toEqual([]);
    expect(await call(keyA, 'DELETE', path(ownB))).toEqual({
      status: 404,
      body: { error: `there is no suppression of ${ownB}` },
    });
    expect(await call(keyA, 'DELETE', path(shared))).toMatchObject({ status: 409 });
    expect(await suppressionOf(ownB)).toBeDefined();
    expect(await suppressionOf(shared)).toBeDefined();

    expect(await call(keyA, 'DELETE', path(ownA))).toMatchObject({ status: 200, body: { address: ownA } });
    expect(await suppressionOf(ownA)).toBeUndefined();
    const [audit] = await pool.query<RowDataPacket[]>(
      "SELECT outcome FROM audit_log WHERE action = 'DELETE /v1/suppressions/:address' AND target = ?",
      [path(ownA)],
    );
    expect(audit).toEqual([{ outcome: 'ok' }]);

    // Pages: one entry at a time, the next after the last id.
    const page1 = (await call(operator, 'GET', `/v1/suppressions?customer=${b.customerId}&limit=1`)).body as {
      id: string;
    }[];
    const page2 = (
      await call(operator, 'GET', `/v1/suppressions?customer=${b.customerId}&limit=1&after=${page1[0]!.id}`)
    ).body;
    expect([...addressesOf(page1), ...addressesOf(page2)]).toEqual([ownB, shared]);
    expect(await call(operator, 'DELETE', path(shared))).toMatchObject({ status: 200, body: { address: shared } });
    expect(await suppressionOf(shared)).toBeUndefined();
  });
});

describe("erasure: a recipient's personal data removed on request (issue 26)", () => {
  /** Every text column of every table holding `value`, as `table.column`. */
  async function columnsHolding(value: string): Promise<string[]> {
    const { pool } = context;
    const [columns] = await pool.query<RowDataPacket[]>(
      `SELECT table_name AS t, column_name AS c FROM information_schema.columns
        WHERE table_schema = DATABASE() AND data_type IN ('char', 'varchar', 'text', 'mediumtext', 'longtext', 'blob', 'mediumblob', 'longblob', 'json')`,
    );
    const found: string[] = [];
    for (const { t, c } of columns) {
      const [rows] = await pool.query<RowDataPacket[]>(`SELECT 1 FROM \`${t}\` WHERE \`${c}\` LIKE ? LIMIT 1`, [
        `%${value}%`,
      ]);
      if (rows.length > 0) found.push(`${t}.${c}`);
    }
    return found;
  }

  it('erases a bounced recipient: no row holds their address, number, device or name in clear; their next event is suppressed as erased; the address stays suppressed for a later user who has it', async () => {
    const { pool } = context;
    const tag = randomUUID().slice(0, 8);
    const name = `Erin-${tag}`;
    const { customerId, orderId, user } = await subscribedCustomer(pool, name, `erin.${tag}@example.test`);
    const address = user.email!;
    const phone = `+4477009${String(parseInt(tag, 16) % 100_000).padStart(5, '0')}`;
    const device = `fcm-token-${tag}`;
    await pool.query('INSERT INTO phone_numbers (customer_id, user_id, e164) VALUES (?, ?, ?)', [
      customerId,
      user.id,
      phone,
    ]);
    await pool.query(
      "INSERT INTO push_registrations (customer_id, user_id, kind, token, address_hash) VALUES (?, ?, 'fcm', ?, SHA2(?, 256))",
      [customerId, user.id, device, device],
    );
    await pool.query(
      "INSERT INTO quiet_hours (user_id, customer_id, time_zone, starts_at, ends_at) VALUES (?, ?, 'UTC', '00:00', '00:01')",
      [user.id, customerId],
    );
    const first = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const [mail] = await waitForMail((mails) => mailTo(mails, address), 1);
    await deliveryOf(first, 'delivered');
    const bounceTo = envelopeSender(mail!)!;
    const dsn = deliveryStatusNotification({ to: bounceTo, finalRecipient: address });
    expect(await sendReport(bounceTo, dsn)).toMatch(/^250/);
    await deliveryOf(first, 'bounced');
    // Texts quoting the address: a failure recorded with it, and an audit entry naming it.
    await pool.query(
      "INSERT INTO dead_letters (notification_id, event_id, order_id, customer_id, user_id, channel, error_type, message, attempts) VALUES (?, ?, ?, ?, ?, 'sms', 'InvalidRecipient', ?, 1)",
      [`erasure-${tag}`, first, orderId, customerId, user.id, `the number ${phone} is not reachable`],
    );
    const keys = apiKeyOperations({ pool });
    const key = (await keys.create(`erasure ${tag}`, customerId)).key;
    expect((await call(key, 'DELETE', `/v1/suppressions/${encodeURIComponent(address)}`)).status).toBe(200);
    await pool.query(
      "INSERT INTO email_suppressions (address, reason, status_code, diagnostic, suppressed) VALUES (?, 'permanent', '5.1.1', ?, TRUE)",
      [address, `smtp; 550 5.1.1 <${address}>: user unknown`],
    );
    const personal = [address, encodeURIComponent(address), phone, device, name];
    for (const value of personal)
      expect(await columnsHolding(value), `${value} is stored before the erasure`).not.toEqual([]);

    const outsider = (await keys.create(`erasure outsider ${tag}`, (await subscribedCustomer(pool)).customerId)).key;
    expect((await call(outsider, 'POST', `/v1/users/${user.id}/erasure`)).status, "another customer's key").toBe(404);
    const erased = await call(key, 'POST', `/v1/users/${user.id}/erasure`);
    expect(erased.status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    expect(erased.body).toMatchObject({
      userId: user.id,
      rows: { users: 1, phone_numbers: 1, push_registrations: 1, quiet_hours: 1, email_suppressions: 1 },
    });
    expect((erased.body as { remains: string[] }).remains.join('\n')).toContain('Temporal histories');
    for (const value of [...personal, encodeURIComponent(phone)])
      expect(await columnsHolding(value), `${value} is nowhere in clear after the erasure`).toEqual([]);

    const next = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'failure' });
    expect((await deliveryOf(next, 'suppressed')).reason).toBe(`recipient erased on ${today}`);
    const again = await orderly('recipients', 'erase', user.id);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`user ${user.id}: erased`);

    // The upstream later gives someone else (another customer's user) that address: it is still suppressed.
    const later = await subscribedCustomer(pool, 'Later', address);
    const theirs = await sample.event(pool, {
      orderId: later.orderId,
      customerId: later.customerId,
      flowId: 'F1063',
      status: 'success',
    });
    expect((await deliveryOf(theirs, 'suppressed')).reason).toMatch(/^address bounced on \d{4}-\d{2}-\d{2}: 5\.1\.1$/);
    expect(await waitForMail((mails) => mailTo(mails, address), 2, { timeoutMs: 3_000 })).toHaveLength(1);
  });
});
