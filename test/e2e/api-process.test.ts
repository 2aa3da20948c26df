import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderlyProcess, startOrderly } from '../../scripts/orderly-processes.js';
import { sample } from '../../scripts/sample-data.js';
import { apiKeyOperations } from '../../src/operations/api-keys.js';
import { freePort } from '../support/free-port.js';
import { mailTo, waitForMail } from '../support/mail-sink.js';
import { subscribedCustomer, usePipeline } from '../support/pipeline.js';

// The other API tests build the app in-process; this one runs src/bin/api.ts as deployed, over a socket: its
// config, its Temporal client, its key check, its destination guard and its shutdown are the production wiring.
const pipeline = usePipeline();
let api: OrderlyProcess;
let base: string;

beforeAll(async () => {
  const port = await freePort();
  api = await startOrderly('api', { API_PORT: String(port), METRICS_PORT: '0' });
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  expect(await api.stop(), 'the API exits cleanly on SIGTERM').toBe(0);
});

const request = (key: string | undefined, method: string, path: string, body?: object) =>
  fetch(`${base}${path}`, {
    method,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function customerWithKey() {
  const customer = await subscribedCustomer(pipeline.pool);
  const { key } = await apiKeyOperations({ pool: pipeline.pool }).create(
    `api process ${randomUUID()}`,
    customer.customerId,
  );
  return { ...customer, key };
}

describe('the API process (src/bin/api.ts)', () => {
  it('checks keys, keeps tenants apart and sends a notification asked for over HTTP', async () => {
    const a = await customerWithKey();
    const b = await customerWithKey();

    expect((await request(undefined, 'GET', `/v1/orders/${a.orderId}`)).status).toBe(401);
    expect((await request(b.key, 'GET', `/v1/orders/${a.orderId}`)).status).toBe(404);
    expect((await request(a.key, 'GET', `/v1/orders/${a.orderId}`)).status).toBe(200);

    const marker = `over the socket ${randomUUID()}`;
    const sent = await request(a.key, 'POST', '/v1/notifications', {
      orderId: a.orderId,
      flowId: 'F1063',
      eventType: 'order.manual.note',
      status: 'failure',
      errorDesc: marker,
    });
    expect(sent.status).toBe(202);
    const mails = await waitForMail((all) => mailTo(all, a.user.email!), 1);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(marker);
    expect(mailTo(await waitForMail((all) => mailTo(all, b.user.email!), 0, { settleMs: 0 }), b.user.email!)).toEqual(
      [],
    );
  });

  it('refuses a webhook endpoint that points inside the network', async () => {
    const a = await customerWithKey();
    const refused = await request(a.key, 'POST', '/v1/webhook-endpoints', {
      customerId: a.customerId,
      url: 'http://10.0.0.5/hooks',
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toMatch(/10\.0\.0\.5|private|internal/i);
    const endpoints = (await (await request(a.key, 'GET', '/v1/webhook-endpoints')).json()) as unknown[];
    expect(endpoints).toEqual([]);
    // The customer's own data is still reachable: the refusal was about the URL, not the key.
    expect((await request(a.key, 'GET', `/v1/orders/${await sample.order(pipeline.pool, a.customerId)}`)).status).toBe(
      200,
    );
  });
});
