import { randomUUID } from 'node:crypto';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { type EndpointSpec, sample } from '../../scripts/sample-data.js';
import { loadConfig, webhookDestinationPolicy } from '../../src/config.js';
import { workflowIds } from '../../src/domain.js';
import { webhookEndpointOperations } from '../../src/operations/webhook-endpoints.js';
import { createSecretBox } from '../../src/secrets.js';
import { destinationChecks } from '../../src/webhook-destination.js';
import { defaultMetricsPorts } from '../../src/metrics.js';
import { type EndpointState, endpointStateQuery } from '../../src/messages.js';
import { deliveriesOf, unsettled } from '../support/expectations.js';
import { usePipeline, useTemporalClient } from '../support/pipeline.js';
import { until } from '../support/until.js';
import { historyAsShown, withPayloadsDecoded } from '../support/history.js';
import { type ReceivedWebhook, type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';

// A frozen endpoint costs a webhook worker slot for this long per request.
const pipeline = usePipeline({ WEBHOOK_RESPONSE_TIMEOUT_MS: '1500' });
const receivers: WebhookReceiver[] = [];
const temporal = useTemporalClient();

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

/** A customer with one user subscribed to every event through one webhook endpoint at a new local receiver. */
async function webhookCustomer(policy: EndpointSpec = {}) {
  const pool: Pool = pipeline.pool;
  const receiver = await startWebhookReceiver();
  receivers.push(receiver);
  const customerId = await sample.customer(pool, `Webhooks ${randomUUID()}`);
  const user = await sample.user(pool, customerId, 'Integration', null);
  const endpoint = await sample.webhookEndpoint(pool, customerId, receiver.url, policy);
  await sample.subscription(pool, user.id, { endpointId: endpoint.id });
  return { customerId, endpoint, receiver, newOrder: () => sample.order(pool, customerId) };
}

async function settled(eventIds: string[]) {
  const rows = await deliveriesOf(pipeline.pool, eventIds);
  return rows.length === eventIds.length && !rows.some(unsettled) ? rows : undefined;
}

const payloadOf = (request: ReceivedWebhook) =>
  JSON.parse(request.body) as { type: string; data: { eventId: string; orderId: string } };
const endpointState = (endpointId: string): Promise<EndpointState> =>
  temporal.client.workflow.getHandle(workflowIds.webhookEndpoint(endpointId)).query(endpointStateQuery);

/** Every payload's bytes in a history, as text. */
function payloadTexts(history: object): string[] {
  const texts: string[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) texts.push(Buffer.from(value).toString('utf8'));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(history);
  return texts;
}

/** The state the workflow worker's `orderly_webhook_circuit_state` metric shows as 1 for the endpoint. */
async function circuitMetric(endpointId: string): Promise<string | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${defaultMetricsPorts['workflow-worker']}/metrics`)).text();
  const current = text
    .split('\n')
    .find(
      (line) =>
        line.startsWith('orderly_webhook_circuit_state{') &&
        line.includes(`endpoint_id="${endpointId}"`) &&
        line.endsWith(' 1'),
    );
  return current?.match(/state="([a-z_]+)"/)?.[1];
}

/** Every accepted delivery exactly once, and per order in event-id order (the receiver's arrival order). */
function checkArrivals(accepted: ReceivedWebhook[], expectedEventIds: string[]) {
  const eventIds = accepted.map((r) => payloadOf(r).data.eventId);
  const byOrder = new Map<string, string[]>();
  for (const request of accepted) {
    const { orderId, eventId } = payloadOf(request).data;
    byOrder.set(orderId, [...(byOrder.get(orderId) ?? []), eventId]);
  }
  const outOfOrder = [...byOrder.values()].filter(
    (ids) => ids.join() !== [...ids].sort((a, b) => Number(a) - Number(b)).join(),
  );
  return {
    missing: expectedEventIds.filter((id) => !eventIds.includes(id)),
    twice: eventIds.filter((id, index) => eventIds.indexOf(id) !== index),
    outOfOrder,
  };
}

describe('webhooks: signed POSTs to customer endpoints', () => {
  it('signs each POST so the standardwebhooks verifier accepts it, with one webhook-id on every attempt', async () => {
    const { customerId, endpoint, receiver, newOrder } = await webhookCustomer({ retryScheduleS: [1] });
    receiver.reply = () => (receiver.received.length === 1 ? { status: 500 } : { status: 204 });
    const eventId = await sample.event(pipeline.pool, {
      orderId: await newOrder(),
      customerId,
      status: 'failure',
      errorDesc: 'card declined',
    });

    const [row] = await until('the delivery to settle', () => settled([eventId]));
    expect(row).toMatchObject({ state: 'delivered', attempts: 2 });
    expect(receiver.received.map((r) => r.answered)).toEqual([500, 204]);
    expect(new Set(receiver.received.map((r) => r.messageId)).size).toBe(1);
    const accepted = receiver.accepted()[0]!;
    const verified = new Webhook(endpoint.secret).verify(accepted.body, accepted.headers as Record<string, string>);
    expect(verified).toMatchObject({
      type: 'order.event.failed',
      data: { eventId, customerId, errorDesc: 'card declined' },
    });
  });

  it("keeps events out of the endpoint workflow's history: it names messages, whose bodies MySQL holds", async () => {
    const { customerId, endpoint, receiver, newOrder } = await webhookCustomer({ retryScheduleS: [1] });
    receiver.reply = () => (receiver.received.length === 1 ? { status: 500 } : { status: 204 });
    const marker = `MARKER-${randomUUID()}`;
    const eventId = await sample.event(pipeline.pool, {
      orderId: await newOrder(),
      customerId,
      status: 'failure',
      errorDesc: marker,
    });

    await until('the delivery to settle', () => settled([eventId]));
    expect(payloadOf(receiver.accepted()[0]!)).toMatchObject({ data: { eventId, errorDesc: marker } });
    // Its state carried over continue-as-new is what its history holds: a backlog of thousands stays small.
    const history = await temporal.client.workflow.getHandle(workflowIds.webhookEndpoint(endpoint.id)).fetchHistory();
    expect(payloadTexts(history).filter((text) => text.includes(marker))).toEqual([]);
    // Issue 26: the notification's own history (its event, its endpoint's delivery) holds it encrypted only.
    const raw = withPayloadsDecoded(await historyAsShown(workflowIds.notification(eventId)));
    expect(raw).toContain('binary/encrypted');
    expect(raw).not.toContain(marker);
  });

  it('dead-letters a delivery to an address inside the network (endpoint written by SQL) without connecting to it', async () => {
    // 127.0.0.2 is loopback but outside the test suite's allowed 127.0.0.1/32: what a private address is in production.
    const inside = await startWebhookReceiver('127.0.0.2');
    receivers.push(inside);
    const customerId = await sample.customer(pipeline.pool, `Webhooks ${randomUUID()}`);
    const user = await sample.user(pipeline.pool, customerId, 'Integration', null);
    const endpoint = await sample.webhookEndpoint(pipeline.pool, customerId, inside.url);
    await sample.subscription(pipeline.pool, user.id, { endpointId: endpoint.id });
    const eventId = await sample.event(pipeline.pool, {
      orderId: await sample.order(pipeline.pool, customerId),
      customerId,
      status: 'success',
    });

    const [row] = await until('the delivery to settle', () => settled([eventId]));
    expect(row).toMatchObject({
      state: 'dead_lettered',
      last_error: 'WebhookDestinationForbidden: webhook destination 127.0.0.2 is refused: loopback range',
    });
    const [[deadLetter]] = await pipeline.pool.query<RowDataPacket[]>(
      'SELECT error_type, attempts FROM dead_letters WHERE event_id = ?',
      [eventId],
    );
    expect(deadLetter).toEqual({ error_type: 'WebhookDestinationForbidden', attempts: 1 });
    expect(inside.received).toEqual([]);
  });

  it('does not follow a redirect to an internal address: the delivery is dead-lettered, the address never called', async () => {
    const inside = await startWebhookReceiver('127.0.0.2');
    receivers.push(inside);
    const { receiver, newOrder, customerId } = await webhookCustomer();
    receiver.reply = () => ({ status: 302, headers: { location: inside.url } });
    const eventId = await sample.event(pipeline.pool, { orderId: await newOrder(), customerId, status: 'success' });

    const [row] = await until('the delivery to settle', () => settled([eventId]));
    expect(row).toMatchObject({
      state: 'dead_lettered',
      last_error: 'WebhookRejected: the endpoint answered 302; redirects are not followed',
    });
    expect(receiver.received).toHaveLength(1);
    expect(inside.received).toEqual([]);
  });

  it('rotates a secret without downtime: for the grace period each request carries both signatures, each verifiable', async () => {
    const { endpoint, receiver, newOrder, customerId } = await webhookCustomer();
    const config = loadConfig();
    const endpoints = webhookEndpointOperations({
      pool: pipeline.pool,
      destinations: destinationChecks(webhookDestinationPolicy(config)),
      secrets: createSecretBox(config.SECRETS_ENCRYPTION_KEYS),
      secretGraceS: 3600,
    });
    const rotated = await endpoints.rotateSecret(endpoint.id, undefined);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(3500_000);
    const [[row]] = await pipeline.pool.query<RowDataPacket[]>(
      'SELECT secret, previous_secret FROM webhook_endpoints WHERE id = ?',
      [endpoint.id],
    );
    expect(String(row!.secret)).toMatch(/^v1:/); // sealed at rest
    expect(String(row!.secret)).not.toContain(rotated.secret.slice('whsec_'.length));

    const eventId = await sample.event(pipeline.pool, { orderId: await newOrder(), customerId, status: 'success' });
    const [request] = await until('the POST', () =>
      Promise.resolve(receiver.accepted().length > 0 ? receiver.accepted() : undefined),
    );
    expect(payloadOf(request!).data.eventId).toBe(eventId);
    const headers = request!.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const secret of [endpoint.secret, rotated.secret])
      expect(() => new Webhook(secret).verify(request!.body, headers)).not.toThrow();
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(request!.body, headers),
    ).toThrow();
  });

  it('waits as long as Retry-After says, not the shorter retry schedule', async () => {
    const { customerId, receiver, newOrder } = await webhookCustomer({ retryScheduleS: [1] });
    receiver.reply = () =>
      receiver.received.length === 1 ? { status: 429, headers: { 'retry-after': '4' } } : { status: 200 };
    const eventId = await sample.event(pipeline.pool, { orderId: await newOrder(), customerId, status: 'success' });

    const [row] = await until('the delivery to settle', () => settled([eventId]));
    expect(row).toMatchObject({ state: 'delivered', attempts: 2 });
    const [first, second] = receiver.received;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(4_000);
  });

  it('disables the endpoint on 410 Gone and dead-letters the event; later events are suppressed, not sent', async () => {
    const { customerId, endpoint, receiver, newOrder } = await webhookCustomer();
    receiver.reply = () => ({ status: 410 });
    const orderId = await newOrder();
    const gone = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const [goneRow] = await until('the first delivery to settle', () => settled([gone]));
    const later = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const [laterRow] = await until('the second delivery to settle', () => settled([later]));

    expect(goneRow).toMatchObject({ state: 'dead_lettered', attempts: 1 });
    expect(goneRow!.last_error).toMatch(/^WebhookEndpointGone: /);
    expect(laterRow).toMatchObject({
      state: 'suppressed',
      reason: `webhook endpoint ${endpoint.id} is disabled (410 Gone)`,
    });
    const [[stored]] = await pipeline.pool.query<RowDataPacket[]>(
      'SELECT enabled FROM webhook_endpoints WHERE id = ?',
      [endpoint.id],
    );
    expect(stored!.enabled).toBe(0);
    const [deadLetters] = await pipeline.pool.query<RowDataPacket[]>(
      'SELECT error_type, endpoint_id FROM dead_letters WHERE event_id = ?',
      [gone],
    );
    expect(deadLetters).toEqual([{ error_type: 'WebhookEndpointGone', endpoint_id: endpoint.id }]);
    expect(receiver.received).toHaveLength(1);
  });

  it('opens the circuit after consecutive failures, sends nothing while open, probes once after the cooldown, and closes on success', async () => {
    const { customerId, endpoint, receiver, newOrder } = await webhookCustomer({
      retryScheduleS: [0.2],
      circuitFailureThreshold: 3,
      circuitCooldownS: 4,
    });
    // Three failures open the circuit; the probe after the cooldown succeeds, slowly enough to be seen half-open.
    receiver.reply = () => (receiver.received.length <= 3 ? { status: 500 } : { status: 204, delayMs: 1_000 });
    const eventId = await sample.event(pipeline.pool, { orderId: await newOrder(), customerId, status: 'success' });

    const open = await until('the circuit to open', async () => {
      const state = await endpointState(endpoint.id).catch(() => undefined);
      return state?.circuit === 'open' ? state : undefined;
    });
    expect(open.consecutiveFailures).toBe(3);
    // The Web UI's list shows the same state as the endpoint's current details.
    const shown = await until('the current details to show the open circuit', async () => {
      const { currentDetails } = await temporal.client.workflow
        .getHandle(workflowIds.webhookEndpoint(endpoint.id))
        .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      return currentDetails?.startsWith('circuit open') ? currentDetails : undefined;
    });
    expect(shown).toMatch(/^circuit open until its probe at [\d: -]+ UTC, 3 failures in a row: 0 in flight, 1 waiting/);
    expect(receiver.received).toHaveLength(3);
    expect(await circuitMetric(endpoint.id)).toBe('open');
    const halfOpen = await until('the probe', async () => {
      const state = await endpointState(endpoint.id);
      return state.circuit === 'half_open' ? state : undefined;
    });
    expect(halfOpen.inFlight).toBe(1);
    await until('the delivery to settle', () => settled([eventId]));
    expect(await endpointState(endpoint.id)).toMatchObject({ circuit: 'closed', consecutiveFailures: 0, inFlight: 0 });
    expect(await circuitMetric(endpoint.id)).toBe('closed');
    expect(receiver.received.map((r) => r.answered)).toEqual([500, 500, 500, 204]);
    expect(receiver.received[3]!.at - receiver.received[2]!.at).toBeGreaterThanOrEqual(4_000);
  });

  it('holds an endpoint to its rate limit and its cap on requests in flight, direct attempts and retries together', async () => {
    const { customerId, receiver, newOrder } = await webhookCustomer({ ratePerSecond: 2, maxInFlight: 2 });
    receiver.reply = () => ({ status: 204, delayMs: 300 });
    const orders = await Promise.all(Array.from({ length: 12 }, () => newOrder()));
    const eventIds: string[] = [];
    for (const orderId of orders)
      eventIds.push(await sample.event(pipeline.pool, { orderId, customerId, status: 'success' }));

    const rows = await until('every delivery to settle', () => settled(eventIds));
    expect(receiver.received).toHaveLength(12);
    // Some went directly, the rest through the endpoint's workflow: both take from the one bucket in MySQL.
    expect(rows.filter((r) => r.attempts === 1)).toHaveLength(12);
    // Every request takes its token just before it is sent (in the same process, a few ms before), so arrivals keep
    // the bucket's arithmetic but for that dispatch time: allowed 100 ms. A burst of 2, then one token every 500 ms:
    // any k requests in a row span at least (k - 2) x 500 ms; two buckets (a burst each) would put 4 at once.
    const arrivals = receiver.received.map((r) => r.startedAt).sort((a, b) => a - b);
    for (let i = 0; i < arrivals.length; i++)
      for (let j = i + 2; j < arrivals.length; j++)
        expect(arrivals[j]! - arrivals[i]!, `requests ${i + 1} to ${j + 1}`).toBeGreaterThanOrEqual(
          (j - i - 1) * 500 - 100,
        );
    const mostAtOnce = Math.max(
      ...receiver.received.map(
        (r) =>
          receiver.received.filter((o) => o.startedAt <= r.startedAt && (o.answeredAt ?? Infinity) > r.startedAt)
            .length,
      ),
    );
    expect(mostAtOnce).toBeLessThanOrEqual(2);
  });

  it("delivers to a healthy endpoint in the notification's first attempt: one workflow task, no endpoint workflow", async () => {
    const { customerId, endpoint, receiver, newOrder } = await webhookCustomer();
    const eventId = await sample.event(pipeline.pool, { orderId: await newOrder(), customerId, status: 'success' });

    const [row] = await until('the delivery to settle', () => settled([eventId]));
    expect(row).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(receiver.accepted()).toHaveLength(1);
    const history = await temporal.client.workflow.getHandle(`notification:${eventId}`).fetchHistory();
    expect(history.events?.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
    await expect(
      temporal.client.workflow.getHandle(workflowIds.webhookEndpoint(endpoint.id)).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it("hands a hanging endpoint's delivery to its workflow once the direct attempt's time is up; direct again once it answers", async () => {
    const { customerId, endpoint, receiver, newOrder } = await webhookCustomer({ retryScheduleS: [1] });
    receiver.reply = () => (receiver.received.length === 1 ? 'hang' : { status: 204 });
    const orderId = await newOrder();
    const first = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });

    const [firstRow] = await until('the first delivery to settle', () => settled([first]));
    expect(firstRow).toMatchObject({ state: 'delivered', attempts: 2 });
    expect(receiver.received.map((r) => r.answered)).toEqual(['hung', 204]);
    expect(new Set(receiver.received.map((r) => r.messageId)).size).toBe(1);
    expect(await temporal.client.workflow.getHandle(workflowIds.webhookEndpoint(endpoint.id)).describe()).toBeTruthy();
    // The endpoint's workflow's success made it healthy again, which every worker reads from MySQL.
    const [[state]] = await pipeline.pool.query<RowDataPacket[]>(
      'SELECT consecutive_failures, in_flight FROM webhook_endpoint_state WHERE endpoint_id = ?',
      [endpoint.id],
    );
    expect(state).toEqual({ consecutive_failures: 0, in_flight: 0 });

    const second = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
    const [secondRow] = await until('the second delivery to settle', () => settled([second]));
    expect(secondRow).toMatchObject({ state: 'delivered', attempts: 1 });
    const history = await temporal.client.workflow.getHandle(`notification:${second}`).fetchHistory();
    expect(history.events?.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
  });

  it("keeps delivering customer A (500 events, in order per order) while customer B's endpoint hangs; B's then arrive in order, none lost or twice", async () => {
    const a = await webhookCustomer();
    const b = await webhookCustomer({
      retryScheduleS: [1],
      circuitFailureThreshold: 3,
      circuitCooldownS: 2,
      maxInFlight: 2,
    });
    b.receiver.reply = () => 'hang';
    const aOrders = await Promise.all(Array.from({ length: 10 }, () => a.newOrder()));
    const bOrders = await Promise.all(Array.from({ length: 5 }, () => b.newOrder()));
    const aEvents: string[] = [];
    const bEvents: string[] = [];
    for (let step = 0; step < 50; step++) {
      for (const orderId of aOrders)
        aEvents.push(
          await sample.event(pipeline.pool, {
            orderId,
            customerId: a.customerId,
            status: step % 7 === 6 ? 'failure' : 'success',
          }),
        );
      if (step < 4)
        for (const orderId of bOrders)
          bEvents.push(await sample.event(pipeline.pool, { orderId, customerId: b.customerId, status: 'success' }));
    }

    await until("all of A's deliveries", () => settled(aEvents), 180_000);
    expect(checkArrivals(a.receiver.accepted(), aEvents)).toEqual({ missing: [], twice: [], outOfOrder: [] });
    expect(b.receiver.received.length, "B's endpoint was called (and hung)").toBeGreaterThan(0);
    expect(b.receiver.accepted()).toEqual([]);
    expect((await deliveriesOf(pipeline.pool, bEvents)).filter((r) => !unsettled(r))).toEqual([]);

    b.receiver.reply = () => ({ status: 204 });
    await until("all of B's deliveries", () => settled(bEvents), 120_000);
    expect(checkArrivals(b.receiver.accepted(), bEvents)).toEqual({ missing: [], twice: [], outOfOrder: [] });
    expect(b.receiver.accepted()).toHaveLength(bEvents.length);
    const rows = await deliveriesOf(pipeline.pool, [...aEvents, ...bEvents]);
    expect(rows.filter((r) => r.state !== 'delivered')).toEqual([]);
  }, 330_000);
});
