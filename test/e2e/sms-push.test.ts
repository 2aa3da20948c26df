import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import webpush from 'web-push';
import { unsettled } from '../support/expectations.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderlyProcess, startOrderly } from '../../scripts/orderly-processes.js';
import { sample } from '../../scripts/sample-data.js';
import { buildApi } from '../../src/api/server.js';
import { loadConfig, webhookDestinationPolicy } from '../../src/config.js';
import { workflowIds } from '../../src/domain.js';
import { apiKeyOperations } from '../../src/operations/api-keys.js';
import type { EventStatus } from '../../src/operations/events.js';
import { createSecretBox } from '../../src/secrets.js';
import { destinationChecks } from '../../src/webhook-destination.js';
import { mailTo, waitForMail } from '../support/mail-sink.js';
import { usePipeline, useTemporalClient } from '../support/pipeline.js';
import { type FcmServer, startFcmServer } from '../support/providers/fcm-server.js';
import { type PushService, startPushService } from '../support/providers/push-service.js';
import { type TwilioServer, startTwilioServer } from '../support/providers/twilio-server.js';
import { type VonageServer, startVonageServer } from '../support/providers/vonage-server.js';
import { until } from '../support/until.js';
import { historyAsShown, withPayloadsDecoded } from '../support/history.js';
import { orderly } from '../support/orderly-cli.js';
import { freePort } from '../support/free-port.js';
import { launchChromium } from '../support/browser.js';
import { developmentKey, payloadCodecOf } from '../../src/payload-codec.js';
import { logDir, repoRoot } from '../../stack/paths.js';

/** The rate limit the test sets on Twilio's task queue, and what a window may hold beyond it (arrival jitter). */
const twilioRate = 5;
const rateTolerance = 2;

let twilio: TwilioServer;
let vonage: VonageServer;
let push: PushService;
let fcm: FcmServer;
const vapid = webpush.generateVAPIDKeys();
/** Filled in before the pipeline starts (hooks run in order): the processes read it then. */
const env: NodeJS.ProcessEnv = {};
const caFile = join(tmpdir(), `orderly-push-ca-${randomUUID()}.pem`);
/** Orderly's API, in this process: Twilio's delivery receipts come to it (PUBLIC_BASE_URL), operators read from it. */
let api: FastifyInstance;
let publicBaseUrl: string;

beforeAll(async () => {
  [twilio, vonage, push, fcm] = await Promise.all([
    startTwilioServer(),
    startVonageServer(),
    startPushService(),
    startFcmServer(),
  ]);
  // web-push speaks HTTPS only: the email worker trusts the local push service's certificate through Node.
  writeFileSync(caFile, push.ca);
  publicBaseUrl = `http://127.0.0.1:${await freePort()}`;
  Object.assign(env, {
    PUBLIC_BASE_URL: publicBaseUrl,
    SMS_PROVIDERS: 'twilio,vonage',
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    TWILIO_FROM: '+15005550006',
    TWILIO_BASE_URL: twilio.url,
    VONAGE_API_KEY: vonage.apiKey,
    VONAGE_API_SECRET: vonage.apiSecret,
    VONAGE_FROM: '15005550006',
    VONAGE_BASE_URL: vonage.url,
    PUSH_PROVIDERS: 'web-push,fcm',
    // The key file's token_uri is the local server's token endpoint: the provider's OAuth exchange happens for real.
    FCM_SERVICE_ACCOUNT_JSON: JSON.stringify(fcm.serviceAccount),
    FCM_BASE_URL: fcm.url,
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    PROVIDER_RATE_LIMITS: `twilio=${twilioRate}`,
    NODE_EXTRA_CA_CERTS: caFile,
  });
});
const context = usePipeline(env);
const temporal = useTemporalClient();
beforeAll(async () => {
  api = await buildApi({
    pool: context.pool,
    client: temporal.client,
    destinations: destinationChecks(webhookDestinationPolicy(loadConfig({}))),
    secrets: createSecretBox(''),
    secretGraceS: 3600,
    twilioAuthToken: twilio.authToken,
    publicBaseUrl,
  });
  await api.listen({ host: '127.0.0.1', port: Number(new URL(publicBaseUrl).port) });
});
afterAll(async () => {
  await api?.close();
});
afterAll(async () => {
  await Promise.all([twilio?.close(), vonage?.close(), push?.close(), fcm?.close()]);
  rmSync(caFile, { force: true });
});

interface Row extends RowDataPacket {
  channel: string;
  state: string;
  provider: string | null;
  provider_message_id: string | null;
  reason: string | null;
  last_error: string | null;
}

/** The event's deliveries once none is pending any more, by channel. */
async function settledDeliveries(pool: Pool, eventId: string, timeoutMs = 60_000): Promise<Record<string, Row>> {
  return until(
    `the deliveries of event ${eventId} to settle`,
    async () => {
      const [rows] = await pool.query<Row[]>(
        'SELECT channel, state, provider, provider_message_id, reason, last_error FROM deliveries WHERE event_id = ?',
        [eventId],
      );
      if (rows.length === 0 || rows.some(unsettled)) return undefined;
      return Object.fromEntries(rows.map((r) => [r.channel, r]));
    },
    timeoutMs,
  );
}

/** A customer with one user subscribed (every flow and status) on `channels`, and a phone number if given. */
async function customerWith(pool: Pool, channels: string[], phone?: string) {
  const run = randomUUID().slice(0, 8);
  const customerId = await sample.customer(pool, `SMS ${run}`);
  const user = await sample.user(pool, customerId, 'Grace', `grace.${run}@example.test`);
  for (const channel of channels)
    await pool.execute('INSERT INTO subscriptions (user_id, channel) VALUES (?, ?)', [user.id, channel]);
  if (phone !== undefined)
    await pool.execute('INSERT INTO phone_numbers (customer_id, user_id, e164) VALUES (?, ?, ?)', [
      customerId,
      user.id,
      phone,
    ]);
  return { customerId, user, orderId: await sample.order(pool, customerId) };
}

async function registerPush(pool: Pool, customerId: string, userId: string, service: PushService = push) {
  const browser = service.createSubscription({ applicationServerKey: vapid.publicKey });
  const { endpoint, keys } = browser.subscription;
  await pool.execute(
    `INSERT INTO push_registrations (customer_id, user_id, kind, endpoint, p256dh, auth, address_hash)
     VALUES (?, ?, 'web-push', ?, ?, ?, ?)`,
    [customerId, userId, endpoint, keys.p256dh, keys.auth, createHash('sha256').update(endpoint).digest('hex')],
  );
  return browser;
}

async function registerFcm(pool: Pool, customerId: string, userId: string): Promise<string> {
  const token = `${randomBytes(11).toString('hex')}:APA91b${randomBytes(60).toString('base64url')}`;
  await pool.execute(
    `INSERT INTO push_registrations (customer_id, user_id, kind, token, address_hash) VALUES (?, ?, 'fcm', ?, ?)`,
    [customerId, userId, token, createHash('sha256').update(token).digest('hex')],
  );
  return token;
}

/** The event as `GET /v1/events/{id}` shows it to the customer's own key: every delivery of its notifications. */
async function deliveriesViaApi(customerId: string, eventId: string) {
  const { key } = await apiKeyOperations({ pool: context.pool }).create(`sms test ${customerId}`, customerId);
  const response = await api.inject({
    method: 'GET',
    url: `/v1/events/${eventId}`,
    headers: { authorization: `Bearer ${key}` },
  });
  expect(response.statusCode).toBe(200);
  return response.json<EventStatus>().notifications.flatMap((n) => n.deliveries);
}

const smsOf = <T extends { body?: string; text?: string }>(server: { received: T[] }, eventId: string): T[] =>
  server.received.filter((r) => (r.body ?? r.text ?? '').includes(`Event ${eventId} `));

describe('SMS and push', () => {
  it('one event reaches one user by email, SMS and push at once, each once, recorded with its provider', async () => {
    const { pool } = context;
    const { customerId, user, orderId } = await customerWith(pool, ['email', 'sms', 'push'], '+14155552671');
    const browser = await registerPush(pool, customerId, user.id);
    const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });

    const rows = await settledDeliveries(pool, eventId);
    const mails = await waitForMail((all) => mailTo(all, user.email!), 1);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // a duplicate would arrive by now
    expect(mails).toHaveLength(1);
    const sms = smsOf(twilio, eventId);
    expect(sms).toHaveLength(1);
    expect(sms[0]!.to).toBe('+14155552671');
    expect(smsOf(vonage, eventId)).toHaveLength(0);
    const pushes = push.received.filter((r) => r.subscriptionId === browser.subscription.endpoint.split('/').pop());
    expect(pushes).toHaveLength(1);
    const payload = JSON.parse(pushes[0]!.plaintext!) as { title: string; body: string; data: Record<string, string> };
    expect(payload.title).toBe(`Event ${eventId} processed successfully`);
    expect(payload.body).toContain(`Order ${orderId}`);
    expect(payload.data).toMatchObject({ eventId, orderId });

    expect(rows.email).toMatchObject({ state: 'delivered' });
    expect(rows.sms).toMatchObject({ state: 'sent', provider: 'twilio', provider_message_id: sms[0]!.sid });
    expect(rows.push).toMatchObject({ state: 'delivered', provider: 'web-push' });
    expect(rows.push!.provider_message_id).toMatch(new RegExp(`^${push.origin}/message/`));

    // Issue 26: the history holds none of it in the clear (payloads encrypted), and the codec server shows it all to
    // an operator only. Past the first attempt, the SMS and push deliveries carry their recipient in the history.
    const secrets = [user.email!, user.username, '+14155552671', browser.subscription.endpoint, 'checkout-service'];
    const raw = withPayloadsDecoded(await historyAsShown(workflowIds.notification(eventId)));
    for (const secret of secrets) expect(raw, secret).not.toContain(secret);
    const { key: operatorKey } = await apiKeyOperations({ pool }).create('codec test');
    const decoded = withPayloadsDecoded(
      await historyAsShown(workflowIds.notification(eventId), {
        apiUrl: publicBaseUrl,
        apiKey: operatorKey,
      }),
    );
    for (const secret of [user.email!, user.username, 'checkout-service']) expect(decoded).toContain(secret);
    const garbage = {
      payloads: [{ metadata: { encoding: Buffer.from('binary/encrypted').toString('base64') }, data: 'AAAA' }],
    };
    const refused = await api.inject({
      method: 'POST',
      url: '/v1/codec/decode',
      headers: { authorization: `Bearer ${operatorKey}` },
      payload: garbage,
    });
    expect(refused.statusCode).toBe(400);
    // A rotation: a new key first, the old one still listed. The history written under the old key still decodes,
    // and what is encoded now names the new key.
    const rotatedKeys = `rotated:${randomBytes(32).toString('base64')},${developmentKey.id}:${developmentKey.key.toString('base64')}`;
    const rotatedApi = await buildApi({
      pool,
      client: temporal.client,
      destinations: destinationChecks(webhookDestinationPolicy(loadConfig({}))),
      secrets: createSecretBox(''),
      secretGraceS: 3600,
      payloadCodec: payloadCodecOf(rotatedKeys),
    });
    try {
      const rotatedUrl = `http://127.0.0.1:${await freePort()}`;
      await rotatedApi.listen({ host: '127.0.0.1', port: Number(new URL(rotatedUrl).port) });
      const afterRotation = withPayloadsDecoded(
        await historyAsShown(workflowIds.notification(eventId), { apiUrl: rotatedUrl, apiKey: operatorKey }),
      );
      for (const secret of [user.email!, user.username, 'checkout-service']) expect(afterRotation).toContain(secret);
      const encoded = await rotatedApi.inject({
        method: 'POST',
        url: '/v1/codec/encode',
        headers: { authorization: `Bearer ${operatorKey}` },
        payload: { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: 'e30=' }] },
      });
      const [sealed] = encoded.json<{ payloads: { metadata: Record<string, string> }[] }>().payloads;
      expect(Buffer.from(sealed!.metadata['encryption-key-id']!, 'base64').toString()).toBe('rotated');
    } finally {
      await rotatedApi.close();
    }
    const { key: customerKey } = await apiKeyOperations({ pool }).create('codec test', customerId);
    await expect(
      historyAsShown(workflowIds.notification(eventId), { apiUrl: publicBaseUrl, apiKey: customerKey }),
    ).rejects.toThrow();
  }, 120_000);

  it('the Web UI shows a notification decoded through `orderly codec-server` (an operator key), its summary and what it holds; other origins are refused', async () => {
    const { pool } = context;
    const { customerId, user, orderId } = await customerWith(pool, ['email']);
    const eventId = await sample.event(pool, {
      orderId,
      customerId,
      status: 'failure',
      source: 'warehouse-screenshot',
    });
    await waitForMail((mails) => mailTo(mails, user.email!), 1);
    const { key } = await apiKeyOperations({ pool }).create('web ui codec');
    const server = spawn(
      process.execPath,
      [join(repoRoot, 'bin', 'orderly.mjs'), 'codec-server', '--api', publicBaseUrl],
      {
        env: { ...process.env, ORDERLY_API_KEY: key },
      },
    );
    const browser = await launchChromium();
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('codec server on') && resolve());
        server.once('exit', (code) => reject(new Error(`orderly codec-server exited with ${code}`)));
      });
      const evil = await fetch('http://127.0.0.1:8081/decode', {
        method: 'POST',
        headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
        body: JSON.stringify({ payloads: [] }),
      });
      expect(evil.status, 'a page of another origin').toBe(403);

      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`http://127.0.0.1:8233/namespaces/default/workflows/${workflowIds.notification(eventId)}`);
      // The input is shown decoded: the event's own text, which the history holds only encrypted.
      // Summaries and details are rendered as Markdown in frames of their own: look in every frame.
      const shows = (text: string) =>
        until(`the Web UI to show ${text}`, async () => {
          const texts = await Promise.all(page.frames().map((frame) => frame.innerText('body').catch(() => '')));
          return texts.some((shown) => shown.includes(text)) ? true : undefined;
        });
      await shows('warehouse-screenshot');
      await page.getByText('User Metadata').first().click();
      await shows(`order ${orderId}: F1063 order.step.failed failure (event ${eventId})`);
      await shows('settled delivered: 1 delivered, 0 suppressed, 0 dead-lettered');
      await page.screenshot({ path: join(logDir, 'web-ui-notification.png') });
      if (process.env.ORDERLY_UPDATE_SCREENSHOTS === '1')
        copyFileSync(
          join(logDir, 'web-ui-notification.png'),
          join(repoRoot, 'docs', 'images', 'web-ui-notification.png'),
        );
    } finally {
      await browser.close();
      server.kill('SIGTERM');
    }
  }, 120_000);

  it("a push reaches a healthy device once while another device's push service answers 503 for two rounds", async () => {
    const { pool } = context;
    // Two browsers on two push services (as Chrome's and Firefox's are): the second one's is failing.
    const flakyService = await startPushService();
    try {
      const { customerId, user, orderId } = await customerWith(pool, ['push']);
      const healthy = await registerPush(pool, customerId, user.id);
      const flaky = await registerPush(pool, customerId, user.id, flakyService);
      // Two rounds of three attempts each fail (10 s between them); the third round's first attempt is delivered.
      flakyService.failWith({ status: 503, text: 'Service Unavailable' }, { times: 6 });
      const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });
      const rows = await settledDeliveries(pool, eventId, 150_000);
      expect(rows.push).toMatchObject({ state: 'delivered', provider: 'web-push' });
      const to = (service: PushService, browser: typeof healthy) =>
        service.received.filter((r) => r.subscriptionId === browser.subscription.endpoint.split('/').pop());
      expect(to(flakyService, flaky).map((r) => r.answered)).toEqual([503, 503, 503, 503, 503, 503, 201]);
      expect(to(push, healthy).map((r) => r.answered)).toEqual([201]);
    } finally {
      await flakyService.close();
    }
  }, 180_000);

  it("an order's SMS arrive in the order of its events", async () => {
    const { pool } = context;
    const { customerId, orderId } = await customerWith(pool, ['sms'], '+14155552672');
    const eventIds: string[] = [];
    for (let i = 0; i < 6; i++)
      eventIds.push(await sample.event(pool, { orderId, customerId, status: i % 3 === 2 ? 'failure' : 'success' }));
    for (const id of eventIds) await settledDeliveries(pool, id);
    const arrived = twilio.received
      .filter((r) => r.to === '+14155552672')
      .map((r) => eventIds.find((id) => r.body!.includes(`Event ${id} `)));
    expect(arrived).toEqual(eventIds);
  }, 120_000);

  it('Twilio answering 500 makes Vonage deliver, and the ledger names vonage', async () => {
    const { pool } = context;
    const { customerId, orderId } = await customerWith(pool, ['sms'], '+14155552673');
    twilio.failWith({ twilioCode: 20500 });
    try {
      const eventId = await sample.event(pool, { orderId, customerId, status: 'failure' });
      const rows = await settledDeliveries(pool, eventId);
      const atVonage = smsOf(vonage, eventId);
      expect(smsOf(twilio, eventId).map((r) => r.answered)).toEqual([500, 500, 500]); // the retry policy's attempts
      expect(atVonage).toHaveLength(1);
      expect(atVonage[0]!.to).toBe('14155552673');
      expect(rows.sms).toMatchObject({
        state: 'sent',
        provider: 'vonage',
        provider_message_id: atVonage[0]!.messageIds[0],
      });
    } finally {
      twilio.failWith(null);
    }
  }, 120_000);

  it("a provider's 429 with Retry-After holds the next attempt back that long", async () => {
    const { pool } = context;
    const { customerId, orderId } = await customerWith(pool, ['sms'], '+14155552675');
    twilio.failWith({ twilioCode: 20429, retryAfterSeconds: 3 }, { times: 1 });
    const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });
    const rows = await settledDeliveries(pool, eventId);
    const attempts = smsOf(twilio, eventId);
    expect(attempts.map((r) => r.answered)).toEqual([429, 201]);
    // The retry policy alone would go again after 1 s.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(2_900);
    expect(rows.sms).toMatchObject({ state: 'sent', provider: 'twilio', provider_message_id: attempts[1]!.sid });
    expect(smsOf(vonage, eventId)).toEqual([]);
  }, 60_000);

  it('an invalid phone number is dead-lettered without any request to a provider', async () => {
    const { pool } = context;
    // Well-formed E.164, so Twilio's API would take it; but no UK number plan has it.
    const { customerId, orderId } = await customerWith(pool, ['sms'], '+447700900123');
    const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });
    const rows = await settledDeliveries(pool, eventId);
    expect(rows.sms).toMatchObject({ state: 'dead_lettered' });
    expect(rows.sms!.last_error).toMatch(/^InvalidPhoneNumber: /);
    // The ledger marks the delivery, then writes the dead_letters row: wait for that one too.
    const letters = await until('the dead_letters row', async () => {
      const [found] = await pool.query<RowDataPacket[]>('SELECT error_type FROM dead_letters WHERE event_id = ?', [
        eventId,
      ]);
      return found.length > 0 ? found : undefined;
    });
    expect(letters.map((l) => String(l.error_type))).toEqual(['InvalidPhoneNumber']);
    expect([...smsOf(twilio, eventId), ...smsOf(vonage, eventId)]).toEqual([]);
    expect(twilio.received.filter((r) => r.to === '+447700900123')).toEqual([]);
  }, 60_000);

  it('an expired push subscription is removed and the delivery recorded suppressed with the reason', async () => {
    const { pool } = context;
    const { customerId, user, orderId } = await customerWith(pool, ['push']);
    const browser = await registerPush(pool, customerId, user.id);
    push.expire(browser.subscription);
    const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });
    const rows = await settledDeliveries(pool, eventId);
    expect(rows.push).toMatchObject({ state: 'suppressed' });
    expect(rows.push!.reason).toMatch(/^push subscription expired \(410\)/);
    const id = browser.subscription.endpoint.split('/').pop();
    expect(push.received.filter((r) => r.subscriptionId === id).map((r) => r.answered)).toEqual([410]);
    const [left] = await pool.query<RowDataPacket[]>('SELECT id FROM push_registrations WHERE user_id = ?', [user.id]);
    expect(left).toEqual([]);

    // The next event does not try the removed subscription again.
    const next = await sample.event(pool, { orderId, customerId, status: 'success' });
    expect((await settledDeliveries(pool, next)).push).toMatchObject({
      state: 'suppressed',
      reason: 'no push registration',
    });
    expect(push.received.filter((r) => r.subscriptionId === id)).toHaveLength(1);
  }, 60_000);

  it('every SMS provider failing: a round of waiting, then the first provider again; status shows which sent it', async () => {
    const { pool } = context;
    const { customerId, orderId } = await customerWith(pool, ['sms'], '+14155552676');
    twilio.failWith({ twilioCode: 20503 }, { times: 3 });
    vonage.failWith({ status: 500, text: 'Internal Server Error' }, { times: 3 });
    const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });
    const rows = await settledDeliveries(pool, eventId, 90_000);
    const atTwilio = smsOf(twilio, eventId);
    const atVonage = smsOf(vonage, eventId);
    expect(atTwilio.map((r) => r.answered)).toEqual([503, 503, 503, 201]);
    expect(atVonage.map((r) => r.answered)).toEqual([500, 500, 500]);
    // Both providers spent their attempts: the next round waits 10 s before Twilio is tried again.
    expect(atTwilio[3]!.at - atVonage[2]!.at).toBeGreaterThanOrEqual(9_500);
    expect(rows.sms).toMatchObject({ state: 'sent', provider: 'twilio', provider_message_id: atTwilio[3]!.sid });

    const shown = await orderly('status', eventId, '--json');
    expect(shown.code).toBe(0);
    const [notification] = (JSON.parse(shown.stdout) as EventStatus).notifications;
    expect(notification!.deliveries).toEqual([
      expect.objectContaining({ channel: 'sms', provider: 'twilio', state: 'sent', attempts: 7 }),
    ]);
    expect((await orderly('status', eventId)).stdout).toMatch(/ sms .*via twilio: sent, 7 attempt\(s\), at /);

    // Twilio's receipt (to the API, signed) moves it to delivered; the API shows the provider and the state.
    expect(await twilio.sendStatusCallback(atTwilio[3]!.sid!, 'delivered')).toBe(200);
    expect(await deliveriesViaApi(customerId, eventId)).toEqual([
      expect.objectContaining({ channel: 'sms', provider: 'twilio', state: 'delivered' }),
    ]);
    expect((await orderly('status', eventId)).stdout).toMatch(/ sms .*via twilio: delivered, 7 attempt\(s\)/);
  }, 120_000);

  it("retryNow ends an SMS's wait between rounds at once; cancel stops one that is waiting", async () => {
    const { pool } = context;
    const { customerId, orderId } = await customerWith(pool, ['sms'], '+14155552677');
    twilio.failWith({ twilioCode: 20503 });
    vonage.failWith({ status: 503, text: 'Service Unavailable' });
    try {
      const first = await sample.event(pool, { orderId, customerId, status: 'success' });
      await until('a round spent at both providers', () =>
        Promise.resolve(smsOf(vonage, first).length === 3 || undefined),
      );
      await sleep(500); // the round's wait has begun
      twilio.failWith(null);
      vonage.failWith(null);
      const asked = Date.now();
      expect((await orderly('retry', first)).code).toBe(0);
      const rows = await settledDeliveries(pool, first);
      expect(rows.sms).toMatchObject({ state: 'sent', provider: 'twilio' });
      const accepted = smsOf(twilio, first).filter((r) => r.answered === 201);
      expect(accepted).toHaveLength(1);
      expect(accepted[0]!.at - asked).toBeLessThan(5_000); // not the 10 s the round would wait

      twilio.failWith({ twilioCode: 20503 });
      vonage.failWith({ status: 503, text: 'Service Unavailable' });
      const second = await sample.event(pool, { orderId, customerId, status: 'failure' });
      await until('a round spent at both providers', () =>
        Promise.resolve(smsOf(vonage, second).length === 3 || undefined),
      );
      await sleep(500);
      expect((await orderly('cancel', second, '--reason', 'told by phone')).code).toBe(0);
      const cancelled = await settledDeliveries(pool, second, 5_000);
      expect(cancelled.sms).toMatchObject({ state: 'cancelled', reason: 'told by phone' });
      await sleep(11_000); // past the round's wait: nothing more is sent
      expect(smsOf(twilio, second)).toHaveLength(3);
      expect(smsOf(vonage, second)).toHaveLength(3);
    } finally {
      twilio.failWith(null);
      vonage.failWith(null);
    }
  }, 120_000);

  it('a dead-lettered SMS redriven by an operator arrives once; the email already delivered is not sent again', async () => {
    const { pool } = context;
    const { customerId, user, orderId } = await customerWith(pool, ['email', 'sms'], '+14155552678');
    twilio.failWith({ twilioCode: 21610 }, { times: 1 }); // the recipient had unsubscribed (STOP)...
    const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });
    const rows = await settledDeliveries(pool, eventId);
    expect(rows.sms).toMatchObject({ state: 'dead_lettered' });
    expect(rows.email).toMatchObject({ state: 'delivered' });
    await waitForMail((all) => mailTo(all, user.email!), 1);

    // ...and opted in again: the operator sends it anew.
    const listed = await orderly('dlq', 'list', '--customer', customerId, '--json');
    const [deadLetter] = JSON.parse(listed.stdout) as { id: string; eventId: string; channel?: string }[];
    expect(deadLetter).toMatchObject({ eventId });
    const redriven = await orderly('dlq', 'redrive', deadLetter!.id);
    expect(redriven).toMatchObject({ code: 0, stderr: '' });
    const sent = await until('the redriven SMS to be sent', async () => {
      const [found] = await pool.query<Row[]>(
        "SELECT channel, state, provider FROM deliveries WHERE event_id = ? AND channel = 'sms' AND state = 'sent'",
        [eventId],
      );
      return found[0];
    });
    expect(sent).toMatchObject({ provider: 'twilio' });
    await sleep(3_000); // a second copy would show up by now
    expect(smsOf(twilio, eventId).map((r) => r.answered)).toEqual([400, 201]);
    const accepted = smsOf(twilio, eventId)[1]!;
    expect(await twilio.sendStatusCallback(accepted.sid!, 'undelivered', { errorCode: '30003' })).toBe(200);
    expect(await deliveriesViaApi(customerId, eventId)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ channel: 'sms', provider: 'twilio', state: 'undelivered' }),
        expect.objectContaining({ channel: 'email', provider: null, state: 'delivered' }),
      ]),
    );
    expect(mailTo(await waitForMail((all) => mailTo(all, user.email!), 1), user.email!)).toHaveLength(1);
  }, 120_000);

  it('FCM: one push with the event and order ids in data; UNREGISTERED removes the token and suppresses', async () => {
    const { pool } = context;
    const { customerId, user, orderId } = await customerWith(pool, ['push']);
    const token = await registerFcm(pool, customerId, user.id);
    const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });
    const rows = await settledDeliveries(pool, eventId);
    await sleep(1_500); // a duplicate would arrive by now
    const sends = fcm.received.filter((r) => r.route === 'send' && r.message?.token === token);
    expect(sends.map((r) => r.answered)).toEqual([200]);
    expect(sends[0]!.message!.data).toMatchObject({ eventId, orderId });
    expect(sends[0]!.message!.notification?.title).toBe(`Event ${eventId} processed successfully`);
    expect(fcm.received.some((r) => r.route === 'token' && r.authorized)).toBe(true);
    expect(rows.push).toMatchObject({ state: 'delivered', provider: 'fcm', provider_message_id: sends[0]!.name });

    fcm.unregister(token); // the app was uninstalled
    const next = await sample.event(pool, { orderId, customerId, status: 'failure' });
    const after = await settledDeliveries(pool, next);
    expect(after.push).toMatchObject({ state: 'suppressed' });
    expect(after.push!.reason).toMatch(/unregistered \(UNREGISTERED\) at fcm: registration removed/);
    const [left] = await pool.query<RowDataPacket[]>('SELECT id FROM push_registrations WHERE user_id = ?', [user.id]);
    expect(left).toEqual([]);
    expect(fcm.received.filter((r) => r.route === 'send' && r.message?.token === token)).toHaveLength(2);
  }, 60_000);

  describe('with a second email worker', () => {
    let second: OrderlyProcess | undefined;
    beforeAll(async () => {
      second = await startOrderly(
        'email-worker',
        { ...env, METRICS_PORT: '0', TEMPORAL_METRICS_PORT: '0' },
        { logPrefix: 'sms-2-' },
      );
    });
    afterAll(async () => {
      expect(await second?.stop()).toBe(0);
    });

    it(`Twilio's rate limit of ${twilioRate}/s holds across both processes`, async () => {
      const { pool } = context;
      const { customerId } = await customerWith(pool, ['sms'], '+14155552674');
      const orders = [];
      for (let i = 0; i < 40; i++) orders.push(await sample.order(pool, customerId));
      const eventIds = await Promise.all(
        orders.map((orderId) => sample.event(pool, { orderId, customerId, status: 'success' })),
      );
      await until(
        '40 SMS at Twilio',
        () => Promise.resolve(twilio.received.filter((r) => r.to === '+14155552674').length >= 40 || undefined),
        120_000,
      );
      const times = twilio.received.filter((r) => r.to === '+14155552674').map((r) => r.at);
      expect(times).toHaveLength(40);
      const offsets = times.map((t) => t - times[0]!);
      const inWindow = (start: number, ms: number) => offsets.filter((t) => t >= start && t < start + ms).length;
      const arrivals = `arrivals (ms after the first): ${offsets.join(' ')}`;
      // Temporal's limiter is a token bucket per queue partition, each holding up to ceil(rate / partitions)
      // tokens: an idle queue lets about one second's worth go at once (a burst of up to twice the rate, summed over
      // the partitions), then exactly the rate. The burst is spent when sends are asked for, which may be spread over
      // the first seconds as the events arrive; so the check is the bucket's own: no window of T seconds holds more
      // than the burst plus T x rate (plus the tolerance for a request's latency). A per-process limit (twice the
      // rate, two workers) breaks it over a few seconds, and no limit at once.
      for (const windowMs of [1000, 2000, 4000]) {
        const most = Math.max(...offsets.map((start) => inWindow(start, windowMs)));
        const bound = 2 * twilioRate + (windowMs / 1000) * twilioRate + rateTolerance;
        expect(most, `${windowMs} ms window: ${arrivals}`).toBeLessThanOrEqual(bound);
      }
      expect(offsets.at(-1)!, arrivals).toBeGreaterThanOrEqual(((40 - 2 * twilioRate) / twilioRate) * 1000 - 500);
      const [rows] = await pool.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM deliveries WHERE event_id IN (?) AND state = 'sent' AND provider = 'twilio'",
        [eventIds],
      );
      expect(Number(rows[0]!.n)).toBe(40);
      // Both processes sent: the limit held across two workers, not because one of them did all the work.
      const senders = new Set<string>();
      for (const eventId of eventIds) {
        const history = await temporal.client.workflow.getHandle(workflowIds.notification(eventId)).fetchHistory();
        for (const event of history.events ?? [])
          if (event.activityTaskStartedEventAttributes?.identity)
            senders.add(event.activityTaskStartedEventAttributes.identity.split('@')[0]!);
      }
      expect(senders).toContain(String(second!.child.pid));
      expect(senders.size).toBe(2);
    }, 180_000);
  });
});

/** The IANA zone (Etc/GMT±N) in which it is 23:xx now. */
function zoneAtElevenPm(now: Date): { zone: string; offsetH: number } {
  let offsetH = (23 - now.getUTCHours() + 24) % 24;
  if (offsetH > 14) offsetH -= 24;
  // Etc/GMT zones count the other way: Etc/GMT-5 is UTC+5.
  return { zone: offsetH === 0 ? 'Etc/GMT' : `Etc/GMT${offsetH > 0 ? '-' : '+'}${Math.abs(offsetH)}`, offsetH };
}

const hhmm = (at: number) => new Date(at).toISOString().slice(11, 16);

describe('quiet hours', () => {
  it("holds an SMS in the user's quiet hours until they end, the order's next notification waiting behind it", async () => {
    const { pool } = context;
    const { customerId, user, orderId } = await customerWith(pool, ['sms'], '+14155550187');
    // A window (in UTC) from this minute to the next: at least 15 s away.
    if (new Date().getUTCSeconds() > 45) await sleep(61_000 - (Date.now() % 60_000));
    const endsAt = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
    const set = await orderly(
      'contact',
      'quiet-hours',
      'set',
      user.id,
      '--zone',
      'UTC',
      '--from',
      hhmm(Date.now()),
      '--to',
      hhmm(endsAt),
      '--channels',
      'sms',
      '--failures-exempt',
    );
    expect(set.stdout).toContain(`on sms (failures go through)`);
    const held = await sample.event(pool, { orderId, customerId, status: 'success' });
    // A failure is exempt from the window, but not from its order: it goes after the held success.
    const next = await sample.event(pool, { orderId, customerId, status: 'failure' });

    const handle = temporal.client.workflow.getHandle(workflowIds.notification(held));
    await until('the held notification to say quiet', async () => {
      const description = await handle.describe().catch(() => undefined); // not started yet
      return description?.searchAttributes.NotificationStatus?.[0] === 'quiet' ? true : undefined;
    });
    expect(smsOf(twilio, held)).toEqual([]);
    expect(smsOf(twilio, next)).toEqual([]);
    await settledDeliveries(pool, next, 90_000);
    const [first] = smsOf(twilio, held);
    const [second] = smsOf(twilio, next);
    expect(first!.startedAt).toBeGreaterThanOrEqual(endsAt);
    expect(second!.startedAt).toBeGreaterThan(first!.answeredAt!);
    expect((await settledDeliveries(pool, held)).sms).toMatchObject({ state: 'sent' });
  }, 120_000);

  it("an SMS at 23:00 in the user's zone waits for 07:00 there, on a durable timer; a cancel ends the wait", async () => {
    const { pool } = context;
    const { customerId, user, orderId } = await customerWith(pool, ['sms'], '+14155550188');
    const { zone, offsetH } = zoneAtElevenPm(new Date());
    const set = await orderly(
      'contact',
      'quiet-hours',
      'set',
      user.id,
      '--zone',
      zone,
      '--from',
      '22:00',
      '--to',
      '07:00',
    );
    expect(set.code).toBe(0);
    const eventId = await sample.event(pool, { orderId, customerId, status: 'success' });

    const handle = temporal.client.workflow.getHandle(workflowIds.notification(eventId));
    const timer = await until('the quiet-hours timer', async () => {
      const history = await handle.fetchHistory().catch(() => undefined); // not started yet
      return history?.events?.find((e) => e.timerStartedEventAttributes)?.timerStartedEventAttributes ?? undefined;
    });
    // 07:00 there: 8 hours after 23:00 there, less the minutes of this hour gone by.
    const sevenAm = Date.UTC(
      new Date().getUTCFullYear(),
      new Date().getUTCMonth(),
      new Date().getUTCDate(),
      7 - offsetH,
    );
    const expected = (((sevenAm - Date.now()) % 86_400_000) + 86_400_000) % 86_400_000;
    // Set when the notification looked, a moment before this test's clock read.
    expect(Math.abs(Number(timer.startToFireTimeout!.seconds) * 1000 - expected)).toBeLessThan(60_000);
    expect(smsOf(twilio, eventId)).toEqual([]);

    expect((await orderly('cancel', eventId, '--reason', 'quiet-hours test')).code).toBe(0);
    expect((await settledDeliveries(pool, eventId)).sms).toMatchObject({ state: 'cancelled' });
    expect(smsOf(twilio, eventId)).toEqual([]);
  });
});
