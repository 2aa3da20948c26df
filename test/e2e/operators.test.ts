import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { resumeSignal } from '../../src/messages.js';
import { holdRecheckIntervalMs } from '../../src/workflows/notification-run.js';
import { deliveriesOf } from '../support/expectations.js';
import { type FaultySmtp, startFaultySmtp } from '../support/faulty-smtp.js';
import { subscribedCustomer, usePipeline, useTemporalClient } from '../support/pipeline.js';
import { insertEventUnseenByCdc } from '../support/unseen-event.js';
import { until } from '../support/until.js';
import { orderly } from '../support/orderly-cli.js';

let smtp: FaultySmtp;
const smtpPort = 2527;
// Up before the pipeline (hooks run in order): the email worker checks its SMTP server when it starts.
beforeAll(async () => {
  smtp = await startFaultySmtp(smtpPort);
});
// The email worker sends to a fault-injecting SMTP server, so notifications can be made to fail and recover.
const pipeline = usePipeline({ SMTP_PORT: String(smtpPort) });
const temporal = useTemporalClient();

afterAll(async () => {
  await smtp.close();
});

const mailsFor = (eventId: string) => smtp.received.filter((m) => m.eventId === eventId);
const stateOf = async (eventId: string) => (await deliveriesOf(pipeline.pool, [eventId]))[0];
const settled = (eventId: string, state: string) =>
  until(`event ${eventId} to be ${state}`, async () => ((await stateOf(eventId))?.state === state ? true : undefined));

describe('operators: the orderly CLI on the real pipeline', () => {
  it('redrives a dead-lettered notification once the fault is fixed: the email arrives exactly once', async () => {
    const { customerId, orderId } = await subscribedCustomer(pipeline.pool);
    const marker = `REJECT-${randomUUID()}`;
    smtp.rejectMarker = marker;
    const eventId = await sample.event(pipeline.pool, { orderId, customerId, status: 'failure', errorDesc: marker });
    await settled(eventId, 'dead_lettered');

    const listed = await orderly('dlq', 'list', '--customer', customerId, '--json');
    expect(listed.code).toBe(0);
    const [deadLetter] = JSON.parse(listed.stdout) as { id: string; eventId: string; status: string }[];
    expect(deadLetter).toMatchObject({ eventId, status: 'open' });

    smtp.rejectMarker = undefined; // the fault is fixed
    const redriven = await orderly('dlq', 'redrive', deadLetter!.id);
    expect(redriven).toMatchObject({ code: 0, stderr: '' });
    expect(redriven.stdout).toContain(`redriven as notification:${eventId}#redrive-${deadLetter!.id}-1`);

    await settled(eventId, 'delivered');
    await sleep(3_000); // a second copy would show up by now
    expect(mailsFor(eventId)).toHaveLength(1);
    const [[row]] = await pipeline.pool.query<RowDataPacket[]>('SELECT status FROM dead_letters WHERE id = ?', [
      deadLetter!.id,
    ]);
    expect(row!.status).toBe('redriven');
    const again = await orderly('dlq', 'redrive', deadLetter!.id);
    expect(again).toMatchObject({ code: 1, stderr: `orderly: dead letter ${deadLetter!.id} is already redriven\n` });
  });

  it('shows a retrying notification, retries it now once the server is back, and it is delivered at once', async () => {
    const { customerId, orderId, user } = await subscribedCustomer(pipeline.pool);
    smtp.deferUntil = Date.now() + 10 * 60_000;
    const eventId = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    // Attempts 1-5 fail over 1 + 2 + 4 + 8 s; the sixth would wait 16 s more.
    const status = await until(
      'five failed attempts',
      async () => {
        const shown = await orderly('status', eventId, '--json');
        const parsed = JSON.parse(shown.stdout) as {
          notifications: { retrying: { attempt: number; lastFailure: string }[] }[];
        };
        const retrying = parsed.notifications[0]?.retrying[0];
        return retrying !== undefined && retrying.attempt >= 6 ? retrying : undefined;
      },
      60_000,
    );
    expect(status.lastFailure).toContain('451');
    const text = await orderly('status', eventId);
    expect(text.stdout).toContain(`user ${user.id} email ${user.email}: pending`);

    smtp.deferUntil = 0;
    const retried = await orderly('retry', eventId);
    const askedAt = Date.now();
    expect(retried.code).toBe(0);
    await settled(eventId, 'delivered');
    expect(Date.now() - askedAt).toBeLessThan(8_000);
    expect(mailsFor(eventId)).toHaveLength(1);
  });

  it('cancels a notification stuck in retries: recorded as cancelled with the reason, and the order moves on', async () => {
    const { customerId, orderId } = await subscribedCustomer(pipeline.pool);
    smtp.deferUntil = Date.now() + 10 * 60_000;
    const stuck = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const next = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    await until('two failed attempts', async () => {
      const shown = JSON.parse((await orderly('status', stuck, '--json')).stdout) as {
        notifications: { retrying: { attempt: number }[] }[];
      };
      return (shown.notifications[0]?.retrying[0]?.attempt ?? 0) >= 3 ? true : undefined;
    });

    const cancelled = await orderly('cancel', stuck, '--reason', 'customer asked us to stop');
    expect(cancelled.code).toBe(0);
    await settled(stuck, 'cancelled');
    expect((await stateOf(stuck))!.reason).toBe('customer asked us to stop');
    smtp.deferUntil = 0; // the server is back: only the order's next event may reach it
    await settled(next, 'delivered');
    expect(mailsFor(stuck)).toEqual([]);
    expect(mailsFor(next)).toHaveLength(1);
    const late = await orderly('cancel', stuck);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/already finished \(cancelled\)/);
  });

  it('cancels a notification whose send is in flight: the attempt ends failed, the notification is recorded cancelled', async () => {
    const { customerId, orderId } = await subscribedCustomer(pipeline.pool);
    smtp.deferUntil = Date.now() + 10 * 60_000;
    const stuck = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const next = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    await until('a retry on the email workers', async () => {
      const shown = JSON.parse((await orderly('status', stuck, '--json')).stdout) as {
        notifications: { retrying: { attempt: number }[] }[];
      };
      return (shown.notifications[0]?.retrying[0]?.attempt ?? 0) >= 2 ? true : undefined;
    });
    // From now on each attempt waits 8 s for its 451: the cancel below lands while one is in flight.
    smtp.deferReplyMs = 8_000;
    await sleep(5_000);
    try {
      expect((await orderly('cancel', stuck, '--reason', 'cancelled mid-send')).code).toBe(0);
      await settled(stuck, 'cancelled');
      expect((await stateOf(stuck))!.reason).toBe('cancelled mid-send');
    } finally {
      smtp.deferReplyMs = 0;
      smtp.deferUntil = 0;
    }
    await settled(next, 'delivered');
    expect(mailsFor(stuck)).toEqual([]);
    const run = await temporal.client.workflow.getHandle(`notification:${stuck}`).describe();
    expect(run.status.name).toBe('COMPLETED');
  });

  it('cancels a notification still queued behind another: never sent, recorded as cancelled, and the order goes on in order', async () => {
    const { customerId, orderId } = await subscribedCustomer(pipeline.pool);
    smtp.deferUntil = Date.now() + 10 * 60_000;
    const stuck = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const queued = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const last = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    await until('the first in retries', async () => {
      const shown = JSON.parse((await orderly('status', stuck, '--json')).stdout) as {
        notifications: { retrying: { attempt: number }[] }[];
      };
      return (shown.notifications[0]?.retrying[0]?.attempt ?? 0) >= 2 ? true : undefined;
    });

    const cancelled = await orderly('cancel', queued, '--reason', 'sent by phone instead');
    expect(cancelled.code).toBe(0);
    smtp.deferUntil = 0; // its next retry, a few seconds away, goes through
    await settled(stuck, 'delivered');
    await settled(queued, 'cancelled');
    expect((await stateOf(queued))!.reason).toBe('sent by phone instead');
    await settled(last, 'delivered');
    expect(mailsFor(queued)).toEqual([]);
    const mails = smtp.received.filter((m) => [stuck, last].includes(m.eventId ?? ''));
    expect(mails.map((m) => m.eventId)).toEqual([stuck, last]);
  });

  it("holds a paused customer's notification for days with a history growing under 50 events an hour, then delivers it once on resume", async () => {
    const { customerId, orderId } = await subscribedCustomer(pipeline.pool);
    expect((await orderly('pause', customerId, '--reason', 'migration')).code).toBe(0);
    const eventId = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const held = await until('the notification to be held', async () => {
      const shown = await orderly('status', eventId, '--json');
      const state = (JSON.parse(shown.stdout) as { notifications: { state: string | null }[] }).notifications[0]?.state;
      return state === 'held' ? state : undefined;
    });
    expect(held).toBe('held');
    const handle = temporal.client.workflow.getHandle(`notification:${eventId}`);
    const historyLength = async () => (await handle.describe()).historyLength;

    // Held, it adds nothing to its history between its looks.
    const whileHeld = await historyLength();
    await sleep(5_000);
    expect(await historyLength()).toBe(whileHeld);
    expect(mailsFor(eventId)).toEqual([]);

    // One look, made now by a resume signal while the customer is still paused (a timer's look costs no more): the
    // events it adds, times the looks in an hour, is the growth per hour of a hold, measured on this history.
    await handle.signal(resumeSignal);
    const afterLook = await until('the look to end held again', async () => {
      const before = await historyLength();
      await sleep(1_000);
      const after = await historyLength();
      return after > whileHeld && after === before ? after : undefined;
    });
    const perHour = (afterLook - whileHeld) * ((60 * 60_000) / holdRecheckIntervalMs);
    expect(perHour).toBeLessThan(50);
    // Paused for 8 days, it stays far under Temporal's 51,200 events per history.
    expect(whileHeld + perHour * 24 * 8).toBeLessThan(51_200 / 4);

    const resumed = await orderly('resume', customerId);
    expect(resumed.stdout).toContain('1 held notification(s) released');
    await settled(eventId, 'delivered');
    expect(mailsFor(eventId)).toHaveLength(1);
  });

  it('replays an event the CDC never saw (written with the binlog off); the dry run lists it first', async () => {
    const { customerId, orderId } = await subscribedCustomer(pipeline.pool);
    const from = new Date(Date.now() - 1_000);
    const missed = await insertEventUnseenByCdc(orderId, customerId);
    await sleep(3_000);
    expect(await stateOf(missed)).toBeUndefined();

    const window = ['--from', from.toISOString(), '--to', new Date(Date.now() + 1_000).toISOString()];
    const dryRun = await orderly('replay', ...window, '--dry-run', '--json');
    expect((JSON.parse(dryRun.stdout) as { eventId: string }[]).map((c) => c.eventId)).toContain(missed);
    expect(mailsFor(missed)).toEqual([]);

    const replayed = await orderly('replay', ...window);
    expect(replayed.code).toBe(0);
    await settled(missed, 'delivered');
    expect(mailsFor(missed)).toHaveLength(1);
    const again = await orderly('replay', ...window, '--dry-run', '--json');
    expect((JSON.parse(again.stdout) as { eventId: string }[]).map((c) => c.eventId)).not.toContain(missed);
  });

  it('says in one sentence that an id is unknown, and exits 1', async () => {
    expect(await orderly('status', '999999999999')).toMatchObject({
      code: 1,
      stderr: 'orderly: there is no event or order 999999999999\n',
    });
    expect(await orderly('dlq', 'show', '999999999999')).toMatchObject({
      code: 1,
      stderr: 'orderly: there is no dead letter 999999999999\n',
    });
    expect(await orderly('pause', 'nope')).toMatchObject({ code: 1, stderr: 'orderly: there is no customer "nope"\n' });
  });

  it('records every state-changing command in the audit trail, with who ran it and how it ended', async () => {
    const { customerId } = await subscribedCustomer(pipeline.pool);
    expect((await orderly('pause', customerId, '--reason', 'audit test')).code).toBe(0);
    expect((await orderly('resume', customerId)).code).toBe(0);
    expect((await orderly('cancel', '999999999998')).code).toBe(1);
    expect((await orderly('status', '999999999998')).code).toBe(1); // reads are not recorded

    const entries = JSON.parse((await orderly('audit', '--limit', '3', '--json')).stdout) as {
      actor: string;
      action: string;
      target: string;
      outcome: string;
    }[];
    expect(entries.map(({ action, target, outcome }) => ({ action, target, outcome }))).toEqual([
      {
        action: 'cancel',
        target: '999999999998 --reason cancelled by an operator',
        outcome: 'failed: there is no event 999999999998',
      },
      { action: 'resume', target: customerId, outcome: 'ok' },
      { action: 'pause', target: `${customerId} --reason audit test`, outcome: 'ok' },
    ]);
    expect(entries.every((e) => e.actor === `cli:${userInfo().username}`)).toBe(true);
  });
});
