import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { type ApiOptions, buildApi } from '../../src/api/server.js';
import { loadConfig, webhookCustomerLimits, webhookDestinationPolicy } from '../../src/config.js';
import { apiKeyOperations } from '../../src/operations/api-keys.js';
import { createSecretBox } from '../../src/secrets.js';
import { destinationChecks } from '../../src/webhook-destination.js';
import { deliveriesOf, unsettled } from '../support/expectations.js';
import { mailTo, waitForMail } from '../support/mail-sink.js';
import { subscribedCustomer, usePipeline } from '../support/pipeline.js';
import { until } from '../support/until.js';
import { dataConverterOf } from '../../src/payload-codec.js';
import { workflowIds } from '../../src/domain.js';

const pipeline = usePipeline();
let connection: Connection;
let api: FastifyInstance;

/** The API as deployed (webhook endpoints may point at public addresses only), with `options` on top. */
const apiWith = (options: Partial<ApiOptions>) =>
  buildApi({
    pool: pipeline.pool,
    client: new Client({ connection, dataConverter: dataConverterOf(loadConfig()) }),
    destinations: destinationChecks(webhookDestinationPolicy(loadConfig({}))),
    secrets: createSecretBox(''),
    secretGraceS: 3600,
    ...options,
  });
beforeAll(async () => {
  connection = await Connection.connect({ address: loadConfig().TEMPORAL_ADDRESS });
  api = await apiWith({ webhookCustomerLimits: webhookCustomerLimits(loadConfig({})) });
});

afterAll(async () => {
  await api.close();
  await connection.close();
});

/** A customer with a user, an email subscription, a webhook endpoint, an order with one event: data to guard. */
async function customerWithData() {
  const { customerId, orderId, user } = await subscribedCustomer(pipeline.pool);
  const endpoint = await sample.webhookEndpoint(pipeline.pool, customerId, 'http://127.0.0.1:9/never-called');
  const [[subscription]] = await pipeline.pool.query<RowDataPacket[]>(
    'SELECT id FROM subscriptions WHERE user_id = ?',
    [user.id],
  );
  const eventId = await sample.event(pipeline.pool, { orderId, customerId, status: 'success' });
  const { key } = await apiKeyOperations({ pool: pipeline.pool }).create(`test ${customerId}`, customerId);
  return { customerId, orderId, user, endpointId: endpoint.id, subscriptionId: String(subscription!.id), eventId, key };
}

const call = (key: string | undefined, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
  api.inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload }),
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });

describe('HTTP API', () => {
  it('limits requests per API key: past the limit 429 with Retry-After, other keys unaffected', async () => {
    const limited = await apiWith({ rateLimitPerMinute: 3 });
    try {
      const [a, b] = [await customerWithData(), await customerWithData()];
      const get = (key: string) =>
        limited.inject({
          method: 'GET',
          url: `/v1/events/${key === a.key ? a.eventId : b.eventId}`,
          headers: { authorization: `Bearer ${key}` },
        });
      expect([(await get(a.key)).statusCode, (await get(a.key)).statusCode, (await get(a.key)).statusCode]).toEqual([
        200, 200, 200,
      ]);
      const refused = await get(a.key);
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json<{ error: string }>().error).toMatch(/^more than 3 requests a minute with this API key/);
      expect((await get(b.key)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('behind a load balancer (API_TRUST_PROXY), limits public pages per client address from X-Forwarded-For', async () => {
    const behindProxy = (trustProxy: string[]) => apiWith({ rateLimitPerMinute: 2, trustProxy });
    // Every request arrives from the load balancer (127.0.0.1), on behalf of the client it names.
    const open = (app: Awaited<ReturnType<typeof behindProxy>>, client: string) =>
      app.inject({ method: 'GET', url: '/v1/unsubscribe/one-click?token=x', headers: { 'x-forwarded-for': client } });
    const trusting = await behindProxy(['127.0.0.1']);
    const trustingNobody = await behindProxy([]);
    try {
      for (const app of [trusting, trustingNobody]) for (let i = 0; i < 2; i++) await open(app, '203.0.113.1');
      expect((await open(trusting, '203.0.113.1')).statusCode).toBe(429);
      expect((await open(trusting, '203.0.113.2')).statusCode).not.toBe(429);
      // Not trusted, the header names nobody: every client is the load balancer, and shares its limit.
      expect((await open(trustingNobody, '203.0.113.2')).statusCode).toBe(429);
    } finally {
      await Promise.all([trusting.close(), trustingNobody.close()]);
    }
  });

  it('answers a method a path does not have with 405 and the methods it has', async () => {
    const { key, eventId } = await customerWithData();
    const response = await call(key, 'DELETE', `/v1/events/${eventId}`);
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
    expect((await call(key, 'GET', '/v1/no-such-thing')).statusCode).toBe(404);
  });

  it("holds a customer's key to the operator's limits on an endpoint's in-flight cap and rate; an operator's key may go past", async () => {
    const a = await customerWithData();
    const url = `/v1/webhook-endpoints/${a.endpointId}`;
    const tooMany = await call(a.key, 'PATCH', url, { maxInFlight: 1_000 });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json()).toEqual({
      error: "maxInFlight is at most 20 with a customer's key (WEBHOOK_MAX_IN_FLIGHT_LIMIT); an operator may set more",
    });
    const tooFast = await call(a.key, 'POST', '/v1/webhook-endpoints', {
      customerId: a.customerId,
      url: 'https://example.com/hook',
      rateLimitPerS: 5_000,
    });
    expect(tooFast.statusCode).toBe(400);
    expect((await call(a.key, 'PATCH', url, { maxInFlight: 20 })).statusCode).toBe(200);
    const { key: operatorKey } = await apiKeyOperations({ pool: pipeline.pool }).create('limits test operator');
    expect((await call(operatorKey, 'PATCH', url, { maxInFlight: 100 })).json()).toMatchObject({ maxInFlight: 100 });
  });

  it('keeps an audit trail of state-changing requests: a customer key reads its own, an operator key all', async () => {
    const [a, b] = [await customerWithData(), await customerWithData()];
    expect((await call(a.key, 'PATCH', `/v1/subscriptions/${a.subscriptionId}`, { muted: true })).statusCode).toBe(200);
    expect((await call(b.key, 'DELETE', `/v1/subscriptions/${a.subscriptionId}`)).statusCode).toBe(404);
    expect((await call(a.key, 'GET', `/v1/events/${a.eventId}`)).statusCode).toBe(200); // reads are not recorded

    const own = (await call(a.key, 'GET', '/v1/audit?limit=10')).json<
      { actor: string; customerId: string; action: string; target: string; outcome: string }[]
    >();
    expect(own.map(({ customerId, action, target, outcome }) => ({ customerId, action, target, outcome }))).toEqual([
      {
        customerId: a.customerId,
        action: 'PATCH /v1/subscriptions/:id',
        target: `/v1/subscriptions/${a.subscriptionId}`,
        outcome: 'ok',
      },
    ]);
    expect(own[0]!.actor).toMatch(/^api-key:\d+$/);
    const bs = (await call(b.key, 'GET', '/v1/audit')).json<{ outcome: string }[]>();
    expect(bs.map((e) => e.outcome)).toEqual(['failed (404)']);
    const { key: operatorKey } = await apiKeyOperations({ pool: pipeline.pool }).create('audit test operator');
    const all = (await call(operatorKey, 'GET', '/v1/audit?limit=5')).json<{ customerId?: string }[]>();
    expect(all.slice(0, 2).map((e) => e.customerId)).toEqual([b.customerId, a.customerId]);
  });

  it('refuses webhook URLs that point inside the network (400 naming the rule), at registration and on change', async () => {
    const a = await customerWithData();
    const refused: [url: string, rule: string][] = [
      ['http://169.254.169.254/latest/meta-data/', 'link-local'],
      ['http://localhost:8083/connectors', 'loopback'],
      ['http://[::ffff:10.0.0.5]/', 'private'],
    ];
    for (const [url, rule] of refused) {
      const response = await call(a.key, 'POST', '/v1/webhook-endpoints', { customerId: a.customerId, url });
      expect(response.statusCode, url).toBe(400);
      expect(response.json<{ rule: string }>().rule, url).toContain(rule);
    }
    const changed = await call(a.key, 'PATCH', `/v1/webhook-endpoints/${a.endpointId}`, {
      url: 'http://10.0.0.5/hook',
    });
    expect(changed.statusCode).toBe(400);
    expect(changed.json<{ error: string }>().error).toBe(
      'webhook destination 10.0.0.5 is refused: private range (RFC 1918)',
    );
    const [[endpoint]] = await pipeline.pool.query<RowDataPacket[]>('SELECT url FROM webhook_endpoints WHERE id = ?', [
      a.endpointId,
    ]);
    expect(endpoint).toEqual({ url: 'http://127.0.0.1:9/never-called' });
  });

  it("a customer's key cannot read or change another customer's data (and the other's own key can)", async () => {
    const a = await customerWithData();
    const b = await customerWithData();

    const reads = [
      `/v1/events/${b.eventId}`,
      `/v1/orders/${b.orderId}`,
      `/v1/subscriptions/${b.subscriptionId}`,
      `/v1/webhook-endpoints/${b.endpointId}`,
    ];
    for (const url of reads) {
      expect((await call(a.key, 'GET', url)).statusCode, `A reading ${url}`).toBe(404);
      expect((await call(b.key, 'GET', url)).statusCode, `B reading ${url}`).toBe(200);
    }
    const listed = (await call(a.key, 'GET', '/v1/subscriptions')).json<{ customerId: string }[]>();
    expect(new Set(listed.map((s) => s.customerId))).toEqual(new Set([a.customerId]));
    expect((await call(a.key, 'GET', '/v1/webhook-endpoints')).json<{ id: string }[]>().map((e) => e.id)).toEqual([
      a.endpointId,
    ]);
    expect((await call(a.key, 'GET', `/v1/dead-letters?customer=${b.customerId}&status=all`)).json()).toEqual([]);

    const writes: [method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: object][] = [
      ['PATCH', `/v1/subscriptions/${b.subscriptionId}`, { muted: true }],
      ['DELETE', `/v1/subscriptions/${b.subscriptionId}`],
      ['PATCH', `/v1/webhook-endpoints/${b.endpointId}`, { url: 'https://attacker.example/hook' }],
      ['DELETE', `/v1/webhook-endpoints/${b.endpointId}`],
      ['POST', '/v1/webhook-endpoints', { customerId: b.customerId, url: 'https://attacker.example/hook' }],
      ['POST', '/v1/subscriptions', { userId: b.user.id, channel: 'email' }],
      ['POST', `/v1/events/${b.eventId}/cancel`, { reason: 'not yours' }],
      ['POST', `/v1/customers/${b.customerId}/pause`],
      ['POST', '/v1/notifications', { orderId: b.orderId, flowId: 'F1', eventType: 'x', status: 'success' }],
    ];
    const chainOfB = async () =>
      (
        await pipeline.pool.query<RowDataPacket[]>('SELECT * FROM notification_chain WHERE order_id = ?', [b.orderId])
      )[0];
    // B's own event is in its order's chain first (the ingest appends it a moment after the row is written).
    const chainBefore = await until("B's event in its order's chain", async () => {
      const chain = await chainOfB();
      return chain[0]?.last_workflow_id === workflowIds.notification(b.eventId) ? chain : undefined;
    });
    for (const [method, url, body] of writes)
      expect((await call(a.key, method, url, body)).statusCode, `A: ${method} ${url}`).toBe(404);

    // Each write refused left B's rows as they were, not only answered 404.
    expect(await chainOfB(), "B's order gained no notification").toEqual(chainBefore);
    const [bSubscriptions] = await pipeline.pool.query<RowDataPacket[]>(
      'SELECT id FROM subscriptions WHERE user_id = ?',
      [b.user.id],
    );
    expect(bSubscriptions.map((r) => String(r.id))).toEqual([b.subscriptionId]);
    const [bDelivery] = await until("B's event to be delivered, not cancelled", async () => {
      const rows = await deliveriesOf(pipeline.pool, [b.eventId]);
      return rows.length > 0 && !rows.some(unsettled) ? rows : undefined;
    });
    expect(bDelivery).toMatchObject({ state: 'delivered' });

    const [[subscription]] = await pipeline.pool.query<RowDataPacket[]>(
      'SELECT muted FROM subscriptions WHERE id = ?',
      [b.subscriptionId],
    );
    expect(subscription).toEqual({ muted: 0 });
    const [[endpoint]] = await pipeline.pool.query<RowDataPacket[]>('SELECT url FROM webhook_endpoints WHERE id = ?', [
      b.endpointId,
    ]);
    expect(endpoint).toEqual({ url: 'http://127.0.0.1:9/never-called' });
    const [holds] = await pipeline.pool.query<RowDataPacket[]>('SELECT 1 FROM customer_holds WHERE customer_id = ?', [
      b.customerId,
    ]);
    expect(holds).toEqual([]);
    const [endpoints] = await pipeline.pool.query<RowDataPacket[]>(
      'SELECT id FROM webhook_endpoints WHERE customer_id = ?',
      [b.customerId],
    );
    expect(endpoints).toHaveLength(1);
    expect((await call(a.key, 'POST', '/v1/replay', { from: new Date().toISOString(), dryRun: true })).statusCode).toBe(
      403,
    );
  });

  it('refuses requests without a valid key, and a revoked key', async () => {
    const a = await customerWithData();
    expect((await call(undefined, 'GET', '/v1/subscriptions')).statusCode).toBe(401);
    expect((await call('ok_not-a-key', 'GET', '/v1/subscriptions')).statusCode).toBe(401);
    const keys = apiKeyOperations({ pool: pipeline.pool });
    const { id, key } = await keys.create('short-lived', a.customerId);
    expect((await call(key, 'GET', '/v1/subscriptions')).statusCode).toBe(200);
    await keys.revoke(id);
    expect((await call(key, 'GET', '/v1/subscriptions')).statusCode).toBe(401);
    const [[stored]] = await pipeline.pool.query<RowDataPacket[]>('SELECT key_hash FROM api_keys WHERE id = ?', [id]);
    expect(stored!.key_hash).not.toContain(key.slice(3, 20));
  });

  it('answers bad input with 400 naming the field, unknown ids with 404, oversized bodies with 413, never a stack trace', async () => {
    const a = await customerWithData();
    const bad = await call(a.key, 'POST', '/v1/subscriptions', { userId: a.user.id, channel: 'fax' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: string }>().error).toMatch(/channel/);
    const badId = await call(a.key, 'GET', '/v1/events/abc');
    expect(badId.statusCode).toBe(400);
    expect(badId.json<{ error: string }>().error).toMatch(/id/);
    const unknown = await call(a.key, 'GET', '/v1/dead-letters/999999999999');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'there is no dead letter 999999999999' });
    const huge = await call(a.key, 'POST', '/v1/notifications', {
      orderId: a.orderId,
      flowId: 'F1',
      eventType: 'x',
      status: 'success',
      errorDesc: 'x'.repeat(100_000),
    });
    expect(huge.statusCode).toBe(413);
    for (const response of [bad, badId, unknown, huge]) expect(response.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it('sends a notification directly (no database change): the subscriber gets one email, recorded in deliveries', async () => {
    const a = await customerWithData();
    const marker = `direct ${randomUUID()}`;
    const response = await call(a.key, 'POST', '/v1/notifications', {
      orderId: a.orderId,
      flowId: 'F1063',
      eventType: 'order.manual.note',
      status: 'failure',
      errorDesc: marker,
    });
    expect(response.statusCode).toBe(202);
    const { notificationId } = response.json<{ notificationId: string }>();
    // Not a row of order_events: the mail carries event id 0 and the direct event's fields.
    const mails = await waitForMail(
      (all) => mailTo(all, a.user.email!).filter((m) => m.headers['x-orderly-event-id'] === '0'),
      1,
    );
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(marker);
    const row = await until('the delivery row', async () => {
      const [rows] = await pipeline.pool.query<RowDataPacket[]>(
        'SELECT state FROM deliveries WHERE notification_id = ?',
        [notificationId],
      );
      return rows[0]?.state === 'delivered' ? rows[0] : undefined;
    });
    expect(row).toEqual({ state: 'delivered' });
    expect(await deliveriesOf(pipeline.pool, [a.eventId])).toHaveLength(1);
  });

  it('serves its OpenAPI document', async () => {
    const document = (await api.inject({ method: 'GET', url: '/openapi.json' })).json<{
      openapi: string;
      paths: Record<string, unknown>;
    }>();
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/v1/events/{id}',
        '/v1/dead-letters/{id}/redrive',
        '/v1/notifications',
        '/v1/webhook-endpoints',
        '/v1/subscriptions/{id}',
      ]),
    );
  });
});
