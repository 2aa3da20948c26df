import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Payload } from '@temporalio/common';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { workflowIds } from '../../src/domain.js';
import { deliveriesOf } from '../support/expectations.js';
import { type FaultySmtp, startFaultySmtp } from '../support/faulty-smtp.js';
import { orderly } from '../support/orderly-cli.js';
import { subscribedCustomer, usePipeline, useTemporalClient } from '../support/pipeline.js';
import { until } from '../support/until.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';

let smtp: FaultySmtp;
let receiver: WebhookReceiver;
const smtpPort = 2528;
// Up before the pipeline (hooks run in order): the email worker checks its SMTP server when it starts.
beforeAll(async () => {
  smtp = await startFaultySmtp(smtpPort);
  receiver = await startWebhookReceiver();
});
const pipeline = usePipeline({ SMTP_PORT: String(smtpPort) });
const temporal = useTemporalClient();
afterAll(async () => {
  await smtp.close();
  await receiver.close();
});

const stateOf = async (eventId: string) => (await deliveriesOf(pipeline.pool, [eventId]))[0]?.state;
const settledAs = (eventId: string, state: string) =>
  until(`event ${eventId} to be ${state}`, async () => ((await stateOf(eventId)) === state ? true : undefined));

async function deadLetterOf(eventId: string): Promise<{ id: string; status: string }> {
  return until(`a dead letter for event ${eventId}`, async () => {
    const [rows] = await pipeline.pool.query<RowDataPacket[]>(
      'SELECT id, status FROM dead_letters WHERE event_id = ?',
      [eventId],
    );
    return rows[0] === undefined ? undefined : { id: String(rows[0].id), status: String(rows[0].status) };
  });
}

const deadLetterStatus = async (id: string) =>
  String(
    (await pipeline.pool.query<RowDataPacket[]>('SELECT status FROM dead_letters WHERE id = ?', [id]))[0][0]!.status,
  );

/**
 * An operator redrives while the fault is still there (the rerun is really attempted and refused again: the dead
 * letter opens again), then fixes the fault and redrives again: exactly one more send, accepted, and the order's next
 * event follows. `sends` counts what reached the receiver for the event; `fix` ends the fault.
 */
async function redriveStory({
  eventId,
  nextEvent,
  sends,
  accepted,
  fix,
}: {
  eventId: string;
  nextEvent: () => Promise<string>;
  sends: () => number;
  accepted: (eventId: string) => number;
  fix: () => void;
}): Promise<void> {
  await settledAs(eventId, 'dead_lettered');
  const deadLetter = await deadLetterOf(eventId);
  expect(sends()).toBe(1);

  const refusedAgain = await orderly('dlq', 'redrive', deadLetter.id);
  expect(refusedAgain).toMatchObject({ code: 0, stderr: '' });
  await until('the redrive to be attempted and refused again', async () =>
    sends() === 2 && (await deadLetterStatus(deadLetter.id)) === 'open' ? true : undefined,
  );

  fix();
  const redriven = await orderly('dlq', 'redrive', deadLetter.id);
  expect(redriven).toMatchObject({ code: 0, stderr: '' });
  await settledAs(eventId, 'delivered');
  const next = await nextEvent();
  await settledAs(next, 'delivered');
  await sleep(2_000); // a late copy would show up by now
  expect(sends()).toBe(3);
  expect(accepted(eventId)).toBe(1);
  expect(accepted(next)).toBe(1);
  expect(await deadLetterStatus(deadLetter.id)).toBe('redriven');
}

describe('redrive: a rerun is really attempted again, every time an operator asks', () => {
  it('webhook: refused, redriven and refused again, fixed, redriven: exactly one accepted POST, then the next event', async () => {
    const customerId = await sample.customer(pipeline.pool, `Redrive ${randomUUID()}`);
    const user = await sample.user(pipeline.pool, customerId, 'Integration', null);
    const endpoint = await sample.webhookEndpoint(pipeline.pool, customerId, receiver.url);
    await sample.subscription(pipeline.pool, user.id, { endpointId: endpoint.id });
    const orderId = await sample.order(pipeline.pool, customerId);
    receiver.reply = () => ({ status: 400 });
    const eventId = await sample.event(pipeline.pool, { orderId, customerId, status: 'failure' });
    const about = (id: string) =>
      receiver.received.filter((r) => (JSON.parse(r.body) as { data: { eventId: string } }).data.eventId === id);

    await redriveStory({
      eventId,
      nextEvent: () => sample.event(pipeline.pool, { orderId, customerId, status: 'success' }),
      sends: () => about(eventId).length,
      accepted: (id) => about(id).filter((r) => r.answered === 204).length,
      fix: () => (receiver.reply = () => ({ status: 204 })),
    });
  });

  it('email: refused, redriven and refused again, fixed, redriven: exactly one mail, then the next event', async () => {
    const { customerId, orderId } = await subscribedCustomer(pipeline.pool);
    const marker = `REJECT-${randomUUID()}`;
    smtp.rejectMarker = marker;
    const eventId = await sample.event(pipeline.pool, { orderId, customerId, status: 'failure', errorDesc: marker });
    const accepted = (id: string) => smtp.received.filter((m) => m.eventId === id).length;
    await redriveStory({
      eventId,
      nextEvent: () => sample.event(pipeline.pool, { orderId, customerId, status: 'success' }),
      sends: () => smtp.refused.filter((m) => m.eventId === eventId).length + accepted(eventId),
      accepted,
      fix: () => (smtp.rejectMarker = undefined),
    });
    expect(smtp.refused.filter((m) => m.eventId === eventId)).toHaveLength(2);
  });
});

describe('the chain settles however a notification ends', () => {
  it("a cancel through Temporal (the Web UI) wakes the order's next notification at once", async () => {
    const { customerId, orderId } = await subscribedCustomer(pipeline.pool);
    smtp.deferUntil = Date.now() + 10 * 60_000;
    try {
      const stuck = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
      const handle = temporal.client.workflow.getHandle(workflowIds.notification(stuck));
      await until('the first notification to retry durably', async () =>
        ((await handle.describe().catch(() => undefined))?.raw.pendingActivities?.length ?? 0) > 0 ? true : undefined,
      );
      const next = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
      await sleep(2_000); // the next one is waiting behind the stuck one by now: its audience not even recorded
      expect(await stateOf(next)).toBeUndefined();

      await handle.cancel();
      smtp.deferUntil = 0;
      const cancelledAt = Date.now();
      await settledAs(stuck, 'cancelled');
      // Woken by the settle, not by its 30-minute recheck.
      await until(
        'the next notification to be delivered',
        async () => ((await stateOf(next)) === 'delivered' ? true : undefined),
        30_000,
      );
      expect(Date.now() - cancelledAt).toBeLessThan(30_000);
    } finally {
      smtp.deferUntil = 0;
    }
  });
});

describe('a slow SMTP server', () => {
  it("answering DATA after 35 s gets each mail exactly once, and the order's next one after it", async () => {
    const { customerId, orderId } = await subscribedCustomer(pipeline.pool);
    smtp.acceptDelayMs = 35_000;
    try {
      const first = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
      const second = await sample.event(pipeline.pool, { orderId, customerId, status: 'failure' });
      await until('the first mail to be accepted', () => Promise.resolve(accepted(first) > 0 || undefined), 60_000);
      smtp.acceptDelayMs = 0;
      await settledAs(second, 'delivered');
      await sleep(5_000); // a second copy of either would be on its way by now
      expect([accepted(first), accepted(second)]).toEqual([1, 1]);
      expect(await stateOf(first)).toBe('delivered');
    } finally {
      smtp.acceptDelayMs = 0;
    }

    function accepted(eventId: string): number {
      return smtp.received.filter((m) => m.eventId === eventId).length;
    }
  }, 150_000);
});

describe('the Web UI at a glance (issue 29): summaries, details and what a notification is doing now', () => {
  it("a held notification says so, the one behind it names the notification it waits for, and the delivered one's summary and details name ids only", async () => {
    const { pool } = pipeline;
    const { customerId, orderId, user } = await subscribedCustomer(pool, 'Zelda Quartermain');
    const text = { source: 'warehouse-bremen-7', errorDesc: 'card ending 4242 declined for Zelda' };
    await pool.query('INSERT INTO customer_holds (customer_id) VALUES (?)', [customerId]);
    const first = await sample.event(pool, { orderId, customerId, status: 'failure', ...text });
    const second = await sample.event(pool, { orderId, customerId, status: 'success', ...text });
    const [held, behind] = [first, second].map((id) =>
      temporal.client.workflow.getHandle(workflowIds.notification(id)),
    );
    const nowOf = async (handle: typeof held) =>
      (await handle!.query<{ currentDetails?: string | null }>('__temporal_workflow_metadata')).currentDetails ?? '';
    // The summaries of a workflow's timers, as the UI's timeline shows them: decoded like every payload.
    const timerSummaries = async (handle: typeof held) => {
      const { payloadCodecs, payloadConverter } = temporal.client.options.loadedDataConverter;
      const summaries: string[] = [];
      for (const event of (await handle!.fetchHistory()).events ?? []) {
        let summary = event.timerStartedEventAttributes ? event.userMetadata?.summary : undefined;
        if (!summary) continue;
        for (const codec of [...payloadCodecs].reverse()) [summary] = await codec.decode([summary as Payload]);
        summaries.push(payloadConverter.fromPayload<string>(summary as Payload));
      }
      return summaries;
    };
    await until('the first to be held and the second to wait', async () =>
      (await nowOf(held).catch(() => '')).startsWith('held since') &&
      (await nowOf(behind).catch(() => '')).startsWith(`waiting for ${workflowIds.notification(first)} since`)
        ? true
        : undefined,
    );
    expect(await nowOf(held)).toMatch(
      new RegExp(`^held since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC: customer ${customerId} is paused`),
    );

    expect(await timerSummaries(held)).toContain(`look again whether customer ${customerId} is paused`);
    expect(await timerSummaries(behind)).toContain(`look again at ${workflowIds.notification(first)}`);

    expect((await orderly('resume', customerId)).code).toBe(0);
    await settledAs(second, 'delivered');
    const description = await behind!.describe();
    const shown = {
      summary: await description.staticSummary(),
      details: await description.staticDetails(),
      now: await nowOf(behind),
    };
    expect(shown.summary).toBe(`order ${orderId}: F1063 order.step.completed success (event ${second})`);
    expect(shown.details).toContain(`event ${second} of order ${orderId}, customer ${customerId}`);
    expect(shown.details).toContain(`follows ${workflowIds.notification(first)}: sends once that one has settled`);
    expect(shown.now).toBe('settled delivered: 1 delivered, 0 suppressed, 0 dead-lettered');
    const everything = JSON.stringify([shown, await nowOf(held), await (await held!.describe()).staticDetails()]);
    for (const personal of [user.email!, 'Zelda', text.source, text.errorDesc])
      expect(everything, `${personal} is not shown`).not.toContain(personal);
  });
});
