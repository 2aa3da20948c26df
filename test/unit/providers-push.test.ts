import { generateKeyPairSync } from 'node:crypto';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { type ServiceAccount, createFcmProvider } from '../../src/providers/fcm.js';
import {
  ProviderRejected,
  ProviderUnavailable,
  type PushProvider,
  RecipientRejected,
} from '../../src/providers/types.js';
import { createWebPushProvider } from '../../src/providers/web-push.js';
import { destinationChecks } from '../../src/webhook-destination.js';
import { type FcmServer, startFcmServer } from '../support/providers/fcm-server.js';
import { type PushService, decryptPushPayload, startPushService } from '../support/providers/push-service.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the send to fail'),
    (error: unknown) => error,
  );
}

const vapidKeys = webpush.generateVAPIDKeys();
const vapid = { subject: 'mailto:ops@orderly.example', ...vapidKeys };
const notification = {
  title: 'Order 42 shipped',
  body: 'Arriving Thursday',
  data: { eventId: 'evt-1', orderId: '42' },
};

/** The local push service is on 127.0.0.1, allowed here as an operator allows a partner's network. */
const localOnly = destinationChecks({ allowedNetworks: ['127.0.0.1/32'], requireHttps: false });

/** A local push service for the enclosing describe, and a provider that trusts its certificate, fresh per test. */
function usePushService() {
  const ctx = {} as { service: PushService; provider: PushProvider; agent: Agent };
  beforeAll(async () => {
    ctx.service = await startPushService();
    ctx.agent = new Agent({ connect: { ca: ctx.service.ca } });
  });
  afterAll(async () => {
    await ctx.service.close();
    await ctx.agent.close();
  });
  beforeEach(() => {
    ctx.service.failWith(null);
    ctx.service.received.length = 0;
    ctx.provider = createWebPushProvider({ vapid, ca: ctx.service.ca, timeoutMs: 300, destinations: localOnly });
  });
  return ctx;
}

describe('Web Push provider: encryption and VAPID, proven by the local push service', () => {
  const ctx = usePushService();

  it('delivers a payload that the subscription holder decrypts to exactly what was sent', async () => {
    const browser = ctx.service.createSubscription({ applicationServerKey: vapid.publicKey });
    const sent = await ctx.provider.send({
      registration: { kind: 'web-push', subscription: browser.subscription },
      ...notification,
      ttlSeconds: 600,
    });
    expect(sent.messageId).toMatch(new RegExp(`^${ctx.service.origin}/message/`));
    const [received] = ctx.service.received;
    expect(received).toMatchObject({
      answered: 201,
      ttl: '600',
      contentEncoding: 'aes128gcm',
      vapid: { valid: true, subject: vapid.subject },
    });
    expect(JSON.parse(received!.plaintext!)).toEqual(notification);
  });

  it('cannot decrypt an altered body, nor with another subscription’s keys', () => {
    const browser = ctx.service.createSubscription();
    const other = ctx.service.createSubscription();
    const { body } = webpush.generateRequestDetails(browser.subscription, 'hello', { vapidDetails: vapid });
    const ciphertext = Buffer.from(body);
    expect(decryptPushPayload(ciphertext, browser)).toBe('hello');
    const altered = Buffer.from(ciphertext);
    altered[altered.length - 1]! ^= 0x01;
    expect(() => decryptPushPayload(altered, browser)).toThrow();
    expect(() => decryptPushPayload(ciphertext, other)).toThrow();
  });

  it('refuses a payload encrypted to other keys (the service really decrypts)', async () => {
    const browser = ctx.service.createSubscription();
    const stranger = ctx.service.createSubscription();
    const mismatched = { ...browser.subscription, keys: stranger.subscription.keys };
    const error = await rejection(
      ctx.provider.send({ registration: { kind: 'web-push', subscription: mismatched }, ...notification }),
    );
    expect(error).toBeInstanceOf(ProviderRejected);
    expect(ctx.service.received[0]?.answered).toBe(400);
    expect(ctx.service.received[0]?.decryptError).toMatch(/Error/);
  });
});

describe('Web Push provider: VAPID checked by the local push service', () => {
  const ctx = usePushService();

  it('refuses a VAPID JWT signed by another key, for another audience, or another sender', async () => {
    const browser = ctx.service.createSubscription({ applicationServerKey: vapid.publicKey });
    const details = webpush.generateRequestDetails(browser.subscription, 'hello', { vapidDetails: vapid });
    const { Authorization: genuine, ...headers } = details.headers as Record<string, string>;
    const post = (authorization: string) =>
      request(details.endpoint, {
        method: 'POST',
        headers: { ...headers, authorization },
        body: details.body,
        dispatcher: ctx.agent,
      });
    const intruder = webpush.generateVAPIDKeys();
    const forgedJwt = webpush
      .getVapidHeaders(ctx.service.origin, vapid.subject, intruder.publicKey, intruder.privateKey, 'aes128gcm')
      .Authorization.replace(/k=.*/, `k=${vapid.publicKey}`);
    const otherAudience = webpush.getVapidHeaders(
      'https://push.example',
      vapid.subject,
      vapid.publicKey,
      vapid.privateKey,
      'aes128gcm',
    );
    const otherSender = webpush.getVapidHeaders(
      ctx.service.origin,
      vapid.subject,
      intruder.publicKey,
      intruder.privateKey,
      'aes128gcm',
    );
    const statuses = [];
    for (const authorization of [forgedJwt, otherAudience.Authorization, otherSender.Authorization, genuine!]) {
      const response = await post(authorization);
      await response.body.dump();
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([401, 401, 403, 201]);
    expect(ctx.service.received.map((r) => r.vapid.valid)).toEqual([false, false, true, true]);
    expect(ctx.service.received[0]?.vapid.reason).toMatch(/signature/i);
    expect(ctx.service.received[1]?.vapid.reason).toMatch(/aud/);
  });
});

describe('Web Push provider: failures', () => {
  const ctx = usePushService();

  it('maps 410 (expired) and 404 (unknown subscription) to RecipientRejected, registration gone', async () => {
    const browser = ctx.service.createSubscription();
    ctx.service.expire(browser.subscription);
    const expired = await rejection(
      ctx.provider.send({ registration: { kind: 'web-push', subscription: browser.subscription }, ...notification }),
    );
    expect(expired).toBeInstanceOf(RecipientRejected);
    expect(expired).toMatchObject({ registrationGone: true, status: 410 });
    const unknown = { ...browser.subscription, endpoint: `${ctx.service.origin}/push/never-made` };
    const missing = await rejection(
      ctx.provider.send({ registration: { kind: 'web-push', subscription: unknown }, ...notification }),
    );
    expect(missing).toMatchObject({ name: 'RecipientRejected', registrationGone: true, status: 404 });
  });

  it("maps 500 to ProviderUnavailable and honours a 429's Retry-After", async () => {
    const { subscription } = ctx.service.createSubscription();
    ctx.service.failWith({ status: 500, text: 'oops' }, { times: 1 });
    ctx.service.failWith({ status: 429, headers: { 'retry-after': '30' }, text: 'slow down' }, { times: 1 });
    const failed = await rejection(
      ctx.provider.send({ registration: { kind: 'web-push', subscription }, ...notification }),
    );
    expect(failed).toBeInstanceOf(ProviderUnavailable);
    expect(failed).toMatchObject({ retriable: true, status: 500 });
    const limited = await rejection(
      ctx.provider.send({ registration: { kind: 'web-push', subscription }, ...notification }),
    );
    expect(limited).toMatchObject({ name: 'ProviderUnavailable', status: 429, retryAfterMs: 30_000 });
  });

  it('maps a hung push service and one that is down to ProviderUnavailable', async () => {
    const { subscription } = ctx.service.createSubscription();
    ctx.service.failWith('hang', { times: 1 });
    await expect(
      ctx.provider.send({ registration: { kind: 'web-push', subscription }, ...notification }),
    ).rejects.toMatchObject({
      name: 'ProviderUnavailable',
      code: 'timeout',
    });
    await ctx.service.down();
    try {
      const down = createWebPushProvider({ vapid, ca: ctx.service.ca, timeoutMs: 300, destinations: localOnly });
      await expect(
        down.send({ registration: { kind: 'web-push', subscription }, ...notification }),
      ).rejects.toMatchObject({
        name: 'ProviderUnavailable',
        code: 'ECONNREFUSED',
      });
    } finally {
      await ctx.service.up();
    }
  });

  it('refuses a subscription whose push service is inside the network: gone, and nothing sent', async () => {
    const { subscription } = ctx.service.createSubscription();
    const guarded = createWebPushProvider({
      vapid,
      ca: ctx.service.ca,
      destinations: destinationChecks({ allowedNetworks: [], requireHttps: false }),
    });
    await expect(
      guarded.send({ registration: { kind: 'web-push', subscription }, ...notification }),
    ).rejects.toMatchObject({ name: 'RecipientRejected', code: 'destination-forbidden', registrationGone: true });
    // By a host name that resolves inside the network: refused when connecting.
    const byName = { ...subscription, endpoint: subscription.endpoint.replace('127.0.0.1', 'localhost') };
    await expect(
      guarded.send({ registration: { kind: 'web-push', subscription: byName }, ...notification }),
    ).rejects.toMatchObject({ name: 'RecipientRejected', code: 'destination-forbidden' });
    expect(ctx.service.received).toEqual([]);
  });

  it('refuses a VAPID configuration that web-push would refuse, at construction', () => {
    expect(() =>
      createWebPushProvider({ vapid: { ...vapid, subject: 'ops@orderly.example' }, destinations: localOnly }),
    ).toThrow();
  });
});

const token = `fcm-token-${'x'.repeat(140)}`;

/** A local FCM for the enclosing describe, a provider with its service account, and a send helper. */
function useFcm() {
  const ctx = {} as { fcm: FcmServer; provider: PushProvider };
  beforeAll(async () => {
    ctx.fcm = await startFcmServer();
  });
  afterAll(() => ctx.fcm.close());
  beforeEach(() => {
    ctx.fcm.failWith(null);
    ctx.fcm.received.length = 0;
    ctx.provider = createFcmProvider({ serviceAccount: ctx.fcm.serviceAccount, baseUrl: ctx.fcm.url, timeoutMs: 300 });
  });
  const send = ({
    via = ctx.provider,
    data = notification.data,
    to = token,
  }: { via?: PushProvider; data?: Record<string, string>; to?: string } = {}) =>
    via.send({
      registration: { kind: 'fcm', token: to },
      title: notification.title,
      body: notification.body,
      data,
      ttlSeconds: 3600,
    });
  return Object.assign(ctx, { send });
}

describe('FCM provider: token exchange and sends', () => {
  const ctx = useFcm();
  const send = ctx.send;

  it('exchanges a signed assertion for a token once, then sends with it', async () => {
    const first = await send();
    await send();
    expect(first.messageId).toMatch(/^projects\/orderly-test\/messages\//);
    expect(ctx.fcm.received.map((r) => [r.route, r.authorized, r.answered])).toEqual([
      ['token', true, 200],
      ['send', true, 200],
      ['send', true, 200],
    ]);
    const { apns, ...message } = ctx.fcm.received[1]?.message as Record<string, unknown>;
    expect(message).toEqual({
      token,
      notification: { title: notification.title, body: notification.body },
      data: notification.data,
      android: { ttl: '3600s' },
      webpush: { headers: { TTL: '3600' } },
    });
    // APNs takes an absolute expiry: now + TTL, within the seconds the test took.
    const expiration = Number((apns as { headers: Record<string, string> }).headers['apns-expiration']);
    expect(Math.abs(expiration - (Date.now() / 1000 + 3600))).toBeLessThan(5);
  });

  it('refuses a Web Push registration, which is a routing bug', async () => {
    const subscription = { endpoint: 'https://push.example/x', keys: { p256dh: 'p', auth: 'a' } };
    const error = await rejection(
      ctx.provider.send({ registration: { kind: 'web-push', subscription }, ...notification }),
    );
    expect(error).toBeInstanceOf(ProviderRejected);
    expect(error).toMatchObject({ code: 'wrong-registration-kind' });
    expect(ctx.fcm.received).toEqual([]);
  });

  it('maps UNREGISTERED to RecipientRejected, registration gone', async () => {
    const uninstalled = `uninstalled-${'y'.repeat(140)}`;
    ctx.fcm.unregister(uninstalled);
    const error = await rejection(send({ to: uninstalled }));
    expect(error).toBeInstanceOf(RecipientRejected);
    expect(error).toMatchObject({ code: 'UNREGISTERED', status: 404, registrationGone: true });
  });
});

describe('FCM provider: failures', () => {
  const ctx = useFcm();
  const send = ctx.send;

  it('maps UNAVAILABLE (with Retry-After) and QUOTA_EXCEEDED to ProviderUnavailable', async () => {
    ctx.fcm.failWith({ fcmError: 'UNAVAILABLE', retryAfterSeconds: 12 }, { times: 1 });
    ctx.fcm.failWith({ fcmError: 'QUOTA_EXCEEDED' }, { times: 1 });
    const unavailable = await rejection(send());
    expect(unavailable).toBeInstanceOf(ProviderUnavailable);
    expect(unavailable).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryAfterMs: 12_000 });
    expect(await rejection(send())).toMatchObject({ name: 'ProviderUnavailable', code: 'QUOTA_EXCEEDED', status: 429 });
  });

  it('maps an invalid payload to ProviderRejected but an invalid token to a gone registration', async () => {
    const payload = await rejection(send({ data: { from: 'reserved key' } }));
    expect(payload).toBeInstanceOf(ProviderRejected);
    expect(payload).toMatchObject({ code: 'INVALID_ARGUMENT' });
    ctx.fcm.failWith({
      fcmError: 'INVALID_ARGUMENT',
      message: 'The registration token is not a valid FCM registration token',
    });
    expect(await rejection(send())).toMatchObject({ name: 'RecipientRejected', registrationGone: true });
  });

  it('gets a fresh token when the cached one is refused', async () => {
    await send();
    ctx.fcm.revokeAccessTokens();
    await send();
    expect(ctx.fcm.received.map((r) => [r.route, r.answered])).toEqual([
      ['token', 200],
      ['send', 200],
      ['send', 401],
      ['token', 200],
      ['send', 200],
    ]);
  });

  it('maps an assertion signed by the wrong key to ProviderRejected, a failing token endpoint to ProviderUnavailable', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const forged = createFcmProvider({
      serviceAccount: { ...ctx.fcm.serviceAccount, private_key: stranger },
      baseUrl: ctx.fcm.url,
    });
    const error = await rejection(send({ via: forged }));
    expect(error).toBeInstanceOf(ProviderRejected);
    expect(error).toMatchObject({ code: 'invalid_grant' });
    expect(ctx.fcm.received[0]).toMatchObject({ route: 'token', authorized: false });
    expect(ctx.fcm.received[0]?.assertionError).toMatch(/signature/i);
    ctx.fcm.failWith({ status: 503, text: 'down' }, { route: 'token', times: 1 });
    expect(await rejection(send())).toMatchObject({ name: 'ProviderUnavailable', status: 503 });
  });

  it('maps a hung send to ProviderUnavailable after the timeout', async () => {
    ctx.fcm.failWith('hang', { times: 1 });
    expect(await rejection(send())).toMatchObject({ name: 'ProviderUnavailable', code: 'timeout' });
  });

  it('refuses a key file without token_uri at construction', () => {
    const incomplete: Partial<ServiceAccount> = { ...ctx.fcm.serviceAccount };
    delete incomplete.token_uri;
    expect(() => createFcmProvider({ serviceAccount: incomplete })).toThrow(/token_uri/);
  });
});
