import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { buildApi } from '../../src/api/server.js';
import { loadConfig, webhookDestinationPolicy } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { apiKeyOperations } from '../../src/operations/api-keys.js';
import { createTwilioProvider } from '../../src/providers/twilio.js';
import { createSecretBox } from '../../src/secrets.js';
import { destinationChecks } from '../../src/webhook-destination.js';
import { type TwilioServer, startTwilioServer } from '../support/providers/twilio-server.js';
import { useTemporalClient } from '../support/pipeline.js';
import { orderly } from '../support/orderly-cli.js';
import { freePort } from '../support/free-port.js';

const temporal = useTemporalClient();
let pool: Pool;
let api: FastifyInstance;
let twilio: TwilioServer;
/** Where the API listens, as PUBLIC_BASE_URL: Twilio's callbacks are signed for URLs under it. */
let publicBaseUrl: string;

const buildTestApi = (options: { twilioAuthToken?: string; publicBaseUrl?: string } = {}) =>
  buildApi({
    pool,
    client: temporal.client,
    destinations: destinationChecks(webhookDestinationPolicy(loadConfig({}))),
    secrets: createSecretBox(''),
    secretGraceS: 3600,
    ...options,
  });

beforeAll(async () => {
  pool = createPool(loadConfig());
  twilio = await startTwilioServer();
  const port = await freePort();
  publicBaseUrl = `http://127.0.0.1:${port}`;
  api = await buildTestApi({ twilioAuthToken: twilio.authToken, publicBaseUrl });
  await api.listen({ host: '127.0.0.1', port });
});
afterAll(async () => {
  await api?.close();
  await twilio?.close();
  await pool?.end();
});

/** A customer with one user and a key of its own. */
async function customerWithUser() {
  const customerId = await sample.customer(pool, `Contacts ${randomUUID()}`);
  const user = await sample.user(pool, customerId, 'Ada', `ada.${randomUUID()}@example.test`);
  const { key } = await apiKeyOperations({ pool }).create(`contacts test ${customerId}`, customerId);
  return { customerId, userId: user.id, key };
}

const call = (key: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
  api.inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload }),
    headers: { authorization: `Bearer ${key}` },
  });

/** What `PushSubscription.toJSON()` gives a browser: a P-256 public key (65 bytes) and a 16-byte auth secret. */
function browserSubscription(authBytes = 16) {
  return {
    endpoint: `https://push.example.test/send/${randomUUID()}`,
    expirationTime: null,
    keys: {
      p256dh: createECDH('prime256v1').generateKeys().toString('base64url'),
      auth: randomBytes(authBytes).toString('base64url'),
    },
  };
}

const phoneRows = async (userId: string) =>
  (await pool.query<RowDataPacket[]>('SELECT e164 FROM phone_numbers WHERE user_id = ?', [userId]))[0];
const pushRows = async (userId: string) =>
  (
    await pool.query<RowDataPacket[]>('SELECT id, kind FROM push_registrations WHERE user_id = ? ORDER BY id', [userId])
  )[0];

describe('contacts through the API', () => {
  it('sets, reads, replaces and removes a phone number, stored in E.164; each change is in the audit trail', async () => {
    const { userId, key } = await customerWithUser();
    const url = `/v1/users/${userId}/phone-number`;
    expect((await call(key, 'GET', url)).statusCode).toBe(404);

    const set = await call(key, 'PUT', url, { number: ' +44 7400 123456 ' });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ userId, number: '+447400123456' });
    expect((await call(key, 'GET', url)).json()).toMatchObject({ number: '+447400123456' });

    const national = await call(key, 'PUT', url, { number: '07400 654321', country: 'GB' });
    expect(national.json()).toMatchObject({ number: '+447400654321' });
    expect(await phoneRows(userId)).toEqual([{ e164: '+447400654321' }]);

    expect((await call(key, 'DELETE', url)).statusCode).toBe(204);
    expect((await call(key, 'GET', url)).json()).toEqual({ error: `user ${userId} has no phone number` });
    expect(await phoneRows(userId)).toEqual([]);

    const audit = (await call(key, 'GET', '/v1/audit?limit=10')).json<{ action: string; outcome: string }[]>();
    expect(audit.map((e) => `${e.action}: ${e.outcome}`)).toEqual([
      'DELETE /v1/users/:id/phone-number: ok',
      'PUT /v1/users/:id/phone-number: ok',
      'PUT /v1/users/:id/phone-number: ok',
    ]);
  });

  it('refuses an invalid number with 400 naming it, and keeps the number it had', async () => {
    const { userId, key } = await customerWithUser();
    const url = `/v1/users/${userId}/phone-number`;
    await call(key, 'PUT', url, { number: '+14155552671' });

    // The right length, but Ofcom keeps 07700 900xxx for drama: not a number anyone has.
    const drama = await call(key, 'PUT', url, { number: '+44 7700 900123' });
    expect(drama.statusCode).toBe(400);
    expect(drama.json()).toEqual({ error: 'invalid phone: "+44 7700 900123" is not a valid number in +44' });
    const national = await call(key, 'PUT', url, { number: '07400 123456' });
    expect(national.statusCode).toBe(400);
    expect(national.json<{ error: string }>().error).toMatch(/"07400 123456" is not an international number/);
    const country = await call(key, 'PUT', url, { number: '07400 123456', country: 'ZZ' });
    expect(country.statusCode).toBe(400);
    expect(country.json<{ error: string }>().error).toMatch(/^invalid country: "ZZ"/);
    expect(await phoneRows(userId)).toEqual([{ e164: '+14155552671' }]);
  });

  it('registers push devices once each, never shows the browser secret, and removes them', async () => {
    const { userId, key } = await customerWithUser();
    const url = `/v1/users/${userId}/push-registrations`;
    const subscription = browserSubscription();

    const created = await call(key, 'POST', url, { kind: 'web-push', subscription });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ userId, kind: 'web-push', endpoint: subscription.endpoint });
    expect(created.body).not.toContain(subscription.keys.auth);
    const again = await call(key, 'POST', url, { kind: 'web-push', subscription });
    expect(again.statusCode).toBe(200);
    expect(again.json<{ id: string }>().id).toBe(created.json<{ id: string }>().id);

    const token = `fcm-${randomBytes(60).toString('base64url')}`;
    const fcm = await call(key, 'POST', url, { kind: 'fcm', token });
    expect(fcm.statusCode).toBe(201);
    expect(fcm.json()).toMatchObject({ kind: 'fcm', endpoint: null, tokenEnding: `…${token.slice(-8)}` });
    expect(fcm.body).not.toContain(token);

    const listed = await call(key, 'GET', url);
    expect(listed.json<{ kind: string }[]>().map((r) => r.kind)).toEqual(['web-push', 'fcm']);
    expect(listed.body).not.toContain(subscription.keys.auth);

    const removed = await call(key, 'DELETE', `/v1/push-registrations/${created.json<{ id: string }>().id}`);
    expect(removed.statusCode).toBe(204);
    expect((await pushRows(userId)).map((r) => String(r.kind))).toEqual(['fcm']);
  });

  it('refuses an invalid web-push subscription (bad key lengths, a push service inside the network) with 400 naming why', async () => {
    const { userId, key } = await customerWithUser();
    const url = `/v1/users/${userId}/push-registrations`;
    const shortAuth = await call(key, 'POST', url, { kind: 'web-push', subscription: browserSubscription(8) });
    expect(shortAuth.statusCode).toBe(400);
    expect(shortAuth.json()).toEqual({
      error: 'invalid web-push subscription: keys.auth: keys.auth must decode to 16 bytes',
    });
    const subscription = browserSubscription();
    subscription.keys.p256dh = subscription.keys.p256dh.slice(0, 40);
    const shortKey = await call(key, 'POST', url, { kind: 'web-push', subscription });
    expect(shortKey.statusCode).toBe(400);
    expect(shortKey.json<{ error: string }>().error).toContain('keys.p256dh must decode to 65 bytes');
    const notUrl = await call(key, 'POST', url, {
      kind: 'web-push',
      subscription: { ...browserSubscription(), endpoint: 'Infinity' },
    });
    expect(notUrl.statusCode).toBe(400);
    expect(notUrl.json<{ error: string }>().error).toMatch(/^invalid web-push subscription: endpoint/);
    // A push service inside the network, as a webhook URL would be: refused, naming the rule.
    const internal = await call(key, 'POST', url, {
      kind: 'web-push',
      subscription: { ...browserSubscription(), endpoint: 'https://10.0.0.5/push/abc' },
    });
    expect(internal.statusCode).toBe(400);
    expect(internal.json()).toMatchObject({ rule: 'private range (RFC 1918)' });
    const mixed = await call(key, 'POST', url, { kind: 'fcm', subscription: browserSubscription() });
    expect(mixed.statusCode).toBe(400);
    expect(await pushRows(userId)).toEqual([]);
  });

  it("answers 404 to a customer's key for another customer's users' contacts, and changes nothing of theirs", async () => {
    const [a, b] = [await customerWithUser(), await customerWithUser()];
    await call(b.key, 'PUT', `/v1/users/${b.userId}/phone-number`, { number: '+447400111222' });
    const bDevice = await call(b.key, 'POST', `/v1/users/${b.userId}/push-registrations`, {
      kind: 'web-push',
      subscription: browserSubscription(),
    });
    const bDeviceId = bDevice.json<{ id: string }>().id;

    const attempts = [
      await call(a.key, 'GET', `/v1/users/${b.userId}/phone-number`),
      await call(a.key, 'PUT', `/v1/users/${b.userId}/phone-number`, { number: '+447400333444' }),
      await call(a.key, 'DELETE', `/v1/users/${b.userId}/phone-number`),
      await call(a.key, 'GET', `/v1/users/${b.userId}/push-registrations`),
      await call(a.key, 'POST', `/v1/users/${b.userId}/push-registrations`, {
        kind: 'web-push',
        subscription: browserSubscription(),
      }),
    ];
    for (const response of attempts) expect(response.json()).toEqual({ error: `there is no user ${b.userId}` });
    const removal = await call(a.key, 'DELETE', `/v1/push-registrations/${bDeviceId}`);
    expect(removal.json()).toEqual({ error: `there is no push registration ${bDeviceId}` });
    expect([...attempts, removal].map((r) => r.statusCode)).toEqual([404, 404, 404, 404, 404, 404]);

    expect(await phoneRows(b.userId)).toEqual([{ e164: '+447400111222' }]);
    expect((await pushRows(b.userId)).map((r) => String(r.id))).toEqual([bDeviceId]);
    const { key: operatorKey } = await apiKeyOperations({ pool }).create('contacts test operator');
    expect((await call(operatorKey, 'GET', `/v1/users/${b.userId}/phone-number`)).json()).toMatchObject({
      number: '+447400111222',
    });
  });
});

describe('contacts through the orderly CLI', () => {
  it('sets, shows and removes a phone number; refuses a bad one in one sentence; writes the audit trail', async () => {
    const { userId } = await customerWithUser();
    const set = await orderly('contact', 'phone', 'set', userId, '07400 123456', '--country', 'gb');
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toMatch(new RegExp(`^user ${userId}: \\+447400123456 \\(since .+\\)\\n$`));

    const shown = await orderly('contact', 'phone', 'show', userId, '--json');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ userId, number: '+447400123456' });

    const bad = await orderly('contact', 'phone', 'set', userId, '+44 7700 900123');
    expect(bad).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'orderly: invalid phone: "+44 7700 900123" is not a valid number in +44\n',
    });

    expect(await orderly('contact', 'phone', 'remove', userId)).toMatchObject({
      code: 0,
      stdout: `user ${userId}: phone number removed\n`,
    });
    expect(await phoneRows(userId)).toEqual([]);
    expect(await orderly('contact', 'phone', 'show', userId)).toMatchObject({
      code: 1,
      stderr: `orderly: user ${userId} has no phone number\n`,
    });

    const [trail] = await pool.query<RowDataPacket[]>(
      "SELECT action, outcome FROM audit_log WHERE action LIKE 'contact phone %' AND (target = ? OR target LIKE ?) ORDER BY id",
      [userId, `${userId} %`],
    );
    expect(trail.map((e) => `${e.action}: ${e.outcome}`)).toEqual([
      'contact phone set: ok',
      'contact phone set: failed: invalid phone: "+44 7700 900123" is not a valid number in +44',
      'contact phone remove: ok',
    ]);
  });

  it('adds, lists and removes push devices; the audit trail never holds the browser secret', async () => {
    const { userId } = await customerWithUser();
    const subscription = browserSubscription();
    const added = await orderly('contact', 'push', 'add', userId, '--web-push', JSON.stringify(subscription), '--json');
    expect(added.code).toBe(0);
    const registration = JSON.parse(added.stdout) as { id: string; endpoint: string };
    expect(registration.endpoint).toBe(subscription.endpoint);
    expect(added.stdout).not.toContain(subscription.keys.auth);

    const listed = await orderly('contact', 'push', 'list', userId);
    expect(listed.stdout).toContain(`#${registration.id} user ${userId} web-push ${subscription.endpoint}`);
    expect(await orderly('contact', 'push', 'add', userId)).toMatchObject({
      code: 1,
      stderr: 'orderly: give --web-push <subscription JSON> or --fcm <token>, not both or neither\n',
    });
    expect(await orderly('contact', 'push', 'remove', registration.id)).toMatchObject({
      code: 0,
      stdout: `push registration ${registration.id}: removed\n`,
    });
    expect(await pushRows(userId)).toEqual([]);

    const [trail] = await pool.query<RowDataPacket[]>(
      "SELECT target FROM audit_log WHERE action = 'contact push add' AND (target = ? OR target LIKE ?) ORDER BY id",
      [userId, `${userId} %`],
    );
    expect(trail.length).toBe(2);
    for (const { target } of trail) expect(target).not.toContain(subscription.keys.auth);
    expect(String(trail[0]!.target)).toContain('--webPush (concealed)');
  });
});

describe('Twilio delivery receipts', () => {
  /** An SMS Twilio accepted (through the local Twilio), recorded as a `sent` delivery the way the SMS path records it. */
  async function sentSms(): Promise<{ deliveryId: string; sid: string }> {
    const provider = createTwilioProvider({
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      from: '+15005550006',
      baseUrl: twilio.url,
    });
    const { messageId: sid } = await provider.send({
      to: '+447400123456',
      body: 'Order 42: payment captured',
      statusCallbackUrl: `${publicBaseUrl}/v1/providers/twilio/status`,
    });
    const { customerId, userId } = await customerWithUser();
    const orderId = await sample.order(pool, customerId);
    const [result] = await pool.execute<ResultSetHeader>(
      `INSERT INTO deliveries (notification_id, event_id, order_id, customer_id, user_id, channel, provider, recipient, state, attempts, provider_message_id)
         VALUES (?, 0, ?, ?, ?, 'sms', 'twilio', '+447400123456', 'sent', 1, ?)`,
      [`receipt-test-${randomUUID()}`, orderId, customerId, userId, sid],
    );
    return { deliveryId: String(result.insertId), sid };
  }

  const deliveryRow = async (id: string) =>
    (
      await pool.query<RowDataPacket[]>(
        'SELECT state, reason, last_error, delivered_at IS NOT NULL AS delivered FROM deliveries WHERE id = ?',
        [id],
      )
    )[0][0];

  it('a correctly signed "delivered" marks the delivery delivered; a late "sent" does not move it back', async () => {
    const { deliveryId, sid } = await sentSms();
    expect(await twilio.sendStatusCallback(sid, 'sending')).toBe(200);
    expect(await deliveryRow(deliveryId)).toMatchObject({ state: 'sent', delivered: 0 });
    expect(await twilio.sendStatusCallback(sid, 'delivered')).toBe(200);
    expect(await deliveryRow(deliveryId)).toMatchObject({ state: 'delivered', delivered: 1, reason: null });
    expect(await twilio.sendStatusCallback(sid, 'sent')).toBe(200);
    expect(await twilio.sendStatusCallback(sid, 'failed', { errorCode: '30008' })).toBe(200);
    expect(await deliveryRow(deliveryId)).toMatchObject({ state: 'delivered', reason: null });
  });

  it('refuses a forged callback (wrong signing key) with 403 and changes nothing', async () => {
    const { deliveryId, sid } = await sentSms();
    expect(await twilio.sendStatusCallback(sid, 'delivered', { signWith: randomBytes(16).toString('hex') })).toBe(403);
    const unsigned = await fetch(`${publicBaseUrl}/v1/providers/twilio/status`, {
      method: 'POST',
      body: new URLSearchParams({ MessageSid: sid, MessageStatus: 'delivered' }),
    });
    expect(unsigned.status).toBe(403);
    expect(await deliveryRow(deliveryId)).toMatchObject({ state: 'sent', delivered: 0 });
  });

  it('"undelivered" with ErrorCode 30003 marks the delivery undelivered with the code and what it means', async () => {
    const { deliveryId, sid } = await sentSms();
    expect(await twilio.sendStatusCallback(sid, 'undelivered', { errorCode: '30003' })).toBe(200);
    const row = await deliveryRow(deliveryId);
    expect(row).toMatchObject({
      state: 'undelivered',
      delivered: 0,
      reason: 'Twilio undelivered: unreachable destination handset (30003)',
    });
    expect(row!.last_error).toContain('error 30003');
  });

  it('answers 200 to a receipt of a message it does not know, and 404 when Twilio is not configured', async () => {
    const { deliveryId, sid } = await sentSms();
    await pool.execute("UPDATE deliveries SET provider_message_id = 'SM-another' WHERE id = ?", [deliveryId]);
    expect(await twilio.sendStatusCallback(sid, 'delivered')).toBe(200);
    expect(await deliveryRow(deliveryId)).toMatchObject({ state: 'sent' });

    const unconfigured = await buildTestApi();
    try {
      const response = await unconfigured.inject({
        method: 'POST',
        url: '/v1/providers/twilio/status',
        payload: `MessageSid=${sid}&MessageStatus=delivered`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(response.statusCode).toBe(404);
      expect(response.json<{ error: string }>().error).toMatch(/not configured/);
    } finally {
      await unconfigured.close();
    }
  });
});
