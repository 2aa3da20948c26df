import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { createWebhookMessages } from '../../src/activities/ledger.js';
import {
  type PostWebhookInput,
  type WebhookAttempt,
  createDirectWebhooks,
  createWebhookActivities,
} from '../../src/activities/webhook.js';
import { loadConfig, webhookDefaults, webhookDestinationPolicy } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import type { EndpointPolicy } from '../../src/domain.js';
import { createSecretBox } from '../../src/secrets.js';
import { destinationChecks } from '../../src/webhook-destination.js';
import { createWebhookAgent } from '../../src/workers/webhook-worker.js';
import { orderEvent } from '../support/order-event.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The state every worker process shares about a webhook endpoint (`webhook_endpoint_state`), on MySQL and a real
 * HTTP receiver: the direct attempts (two "processes" here, each with its own sender) and the endpoint workflow's
 * calls take their tokens and in-flight slots from one row, a failure closes the direct path until an attempt
 * succeeds, and a workflow call refused a token gets the next one before the direct attempts do.
 */
let pool: Pool;
let receiver: WebhookReceiver;
let customerId: string;
// The test receiver is on 127.0.0.1, which the test suite allows (as the pipeline's processes do).
const config = loadConfig({ ...process.env, WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' });
const destinations = destinationChecks(webhookDestinationPolicy(config));
const deps = () => ({
  pool,
  agent: createWebhookAgent(config, destinations),
  destinations,
  secrets: createSecretBox(config.SECRETS_ENCRYPTION_KEYS),
});
let direct: ReturnType<typeof createDirectWebhooks>[];
let workflowCalls: ReturnType<typeof createWebhookActivities>;

beforeAll(async () => {
  pool = createPool(config);
  receiver = await startWebhookReceiver();
  customerId = await sample.customer(pool, `Endpoint state ${randomUUID()}`);
  direct = [createDirectWebhooks({ ...deps(), timeoutMs: 300 }), createDirectWebhooks({ ...deps(), timeoutMs: 300 })];
  workflowCalls = createWebhookActivities({ ...deps(), messages: createWebhookMessages({ pool }), leaseMs: 5_000 });
});
afterAll(async () => {
  await receiver.close();
  await pool.end();
});

async function endpointWith(policy: Partial<EndpointPolicy>) {
  const { id } = await sample.webhookEndpoint(pool, customerId, receiver.url);
  const full = { ...webhookDefaults(config), ...policy };
  const message = () => ({
    endpointId: id,
    messageId: `msg_${randomUUID()}`,
    event: orderEvent({ customerId }),
    template: 'order-event-succeeded' as const,
  });
  return {
    /** A direct attempt through process `p`'s sender. */
    direct: (p = 0): Promise<WebhookAttempt | undefined> =>
      new MockActivityEnvironment().run(() => {
        const { event, template, ...ids } = message();
        return direct[p]!.attemptDirect({ ...ids, content: { event, template }, policy: full });
      }),
    /** A call of the endpoint's workflow. */
    call: () =>
      new MockActivityEnvironment().run(
        (input: PostWebhookInput): Promise<WebhookAttempt> => workflowCalls.postWebhook(input),
        { ...message(), limits: full },
      ),
  };
}

describe('webhook endpoint state shared by every worker process', () => {
  it('holds the in-flight cap across processes: of six direct attempts at once, two go', async () => {
    const endpoint = await endpointWith({ ratePerSecond: 100, maxInFlight: 2 });
    receiver.reply = () => ({ status: 204, delayMs: 200 });
    const attempts = await Promise.all([0, 1, 0, 1, 0, 1].map((p) => endpoint.direct(p)));
    expect(attempts.filter((a) => a?.kind === 'delivered')).toHaveLength(2);
    expect(attempts.filter((a) => a === undefined)).toHaveLength(4);
    // Both ended: their slots are back.
    expect(await endpoint.direct(1)).toMatchObject({ kind: 'delivered' });
  });

  it('closes the direct path when an attempt has no answer in its time, until a workflow call succeeds', async () => {
    const endpoint = await endpointWith({ ratePerSecond: 100, maxInFlight: 4 });
    receiver.reply = () => 'hang';
    expect(await endpoint.direct()).toMatchObject({ kind: 'retry', countsAsFailure: true });
    receiver.reply = () => ({ status: 204 });
    expect(await endpoint.direct(1)).toBeUndefined();
    expect(await endpoint.call()).toMatchObject({ kind: 'delivered' });
    expect(await endpoint.direct(1)).toMatchObject({ kind: 'delivered' });
  });

  it("shares the rate limit with the workflow's calls, and a call refused a token gets the next one first", async () => {
    const endpoint = await endpointWith({ ratePerSecond: 1, maxInFlight: 4 });
    receiver.reply = () => ({ status: 204 });
    expect(await endpoint.direct()).toMatchObject({ kind: 'delivered' });
    const throttled = await endpoint.call();
    expect(throttled).toMatchObject({ kind: 'throttled' });
    const waitMs = (throttled as { retryAfterMs: number }).retryAfterMs;
    expect(waitMs).toBeGreaterThan(500);
    expect(waitMs).toBeLessThanOrEqual(1_000);
    await sleep(waitMs + 100);
    // The token is there, and it is the waiting call's: the direct attempts stand back.
    expect(await endpoint.direct(1)).toBeUndefined();
    expect(await endpoint.call()).toMatchObject({ kind: 'delivered' });
  });
});
