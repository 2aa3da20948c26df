import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SendEmailInput, type SentEmail, createEmailActivities } from '../../src/activities/email.js';
import { createDeliveryClaims, createLedgerActivities } from '../../src/activities/ledger.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { notificationKey } from '../../src/domain.js';
import { bounceAddresses, createSmtpTransport, unsubscribeLinks } from '../../src/workers/email-worker.js';
import { type FaultySmtp, startFaultySmtp } from '../support/faulty-smtp.js';
import { freePort } from '../support/free-port.js';
import { orderEvent } from '../support/order-event.js';

/**
 * Claim before send, on MySQL and an SMTP server: two attempts of one email (a local first attempt the SDK gave up
 * on and its retry, a workflow task that moved to another worker while the first was still sending) never send
 * beside each other, and an attempt that died mid-send is taken over once its lease runs out, counted as an
 * unknown outcome.
 */
let pool: Pool;
let smtp: FaultySmtp;
let email: ReturnType<typeof createEmailActivities>;
const ledger = () => createLedgerActivities({ pool });

beforeAll(async () => {
  const config = loadConfig();
  pool = createPool(config);
  smtp = await startFaultySmtp(await freePort());
  const transport = createSmtpTransport({ ...config, SMTP_PORT: smtp.port });
  email = createEmailActivities({
    transport,
    from: config.MAIL_FROM,
    unsubscribe: unsubscribeLinks(config),
    bounces: bounceAddresses(config),
    claims: createDeliveryClaims({ pool }),
  });
});
afterAll(async () => {
  await smtp.close();
  await pool.end();
});

let nextEventId = Date.now() * 10;

/** One email delivery recorded `pending`, as a notification's audience leaves it before the first attempt. */
async function pendingEmail(): Promise<SendEmailInput> {
  const event = orderEvent({ eventId: String(++nextEventId), notificationId: String(nextEventId) });
  const recipient = { userId: '21', username: 'Ada', email: 'ada@example.test', channel: 'email' as const };
  await ledger().recordAudience(event, 'order-event-failed', [recipient], []);
  return { template: 'order-event-failed', event, userId: '21', username: 'Ada', to: recipient.email };
}

const attempt = (input: SendEmailInput): Promise<SentEmail> =>
  new MockActivityEnvironment().run((i: SendEmailInput) => email.sendEmail(i), input);
const copiesOf = (input: SendEmailInput) => smtp.received.filter((m) => m.eventId === input.event.eventId).length;
async function rowOf(input: SendEmailInput) {
  const [[row]] = await pool.query<RowDataPacket[]>(
    'SELECT state, unknown_outcomes FROM deliveries WHERE notification_id = ? AND user_id = 21',
    [notificationKey(input.event)],
  );
  return { state: String(row?.state), unknownOutcomes: Number(row?.unknown_outcomes) };
}

describe('claim before send', () => {
  it('sends one mail when two attempts of one delivery run at once; the other is told it is in flight', async () => {
    const input = await pendingEmail();
    smtp.acceptDelayMs = 1_500;
    const results = await Promise.allSettled([attempt(input), attempt(input)]);
    smtp.acceptDelayMs = 0;

    expect(copiesOf(input)).toBe(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect(refused?.reason).toMatchObject({ type: 'DeliveryInFlight' });
    expect(await rowOf(input)).toEqual({ state: 'sending', unknownOutcomes: 0 });

    // Recorded delivered (as the workflow does next), a later attempt sends nothing and answers with the first mail.
    const sent = results.find((r) => r.status === 'fulfilled')!.value;
    await ledger().recordDelivered({
      notificationId: notificationKey(input.event),
      userId: '21',
      channel: 'email',
      ...sent,
    });
    await expect(attempt(input)).resolves.toMatchObject({ providerMessageId: sent.providerMessageId });
    expect(copiesOf(input)).toBe(1);
  });

  it('takes over a claim whose sender died mid-send once its lease runs out, and counts an unknown outcome', async () => {
    const input = await pendingEmail();
    // An attempt that claimed the delivery and died (kill -9): it never renews its lease nor hands it back.
    await createDeliveryClaims({ pool }).claim({
      notificationId: notificationKey(input.event),
      userId: '21',
      channel: 'email',
    });
    await expect(attempt(input)).rejects.toMatchObject({ type: 'DeliveryInFlight' });
    expect(copiesOf(input)).toBe(0);

    await sleep(21_000);
    await attempt(input);
    expect(copiesOf(input)).toBe(1);
    expect(await rowOf(input)).toEqual({ state: 'sending', unknownOutcomes: 1 });
  }, 40_000);

  it('hands a delivery whose send failed back to pending, so the next attempt sends at once', async () => {
    const input = await pendingEmail();
    smtp.deferUntil = Date.now() + 60_000;
    const failed = await attempt(input).catch((error: unknown) => error);
    smtp.deferUntil = 0;
    expect(failed).toBeInstanceOf(ApplicationFailure);
    expect(await rowOf(input)).toEqual({ state: 'pending', unknownOutcomes: 0 });

    await attempt(input);
    expect(copiesOf(input)).toBe(1);
  });
});
