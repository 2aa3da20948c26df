import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseTwilioStatusCallback, createTwilioProvider, verifyTwilioSignature } from '../../src/providers/twilio.js';
import {
  ProviderRejected,
  ProviderUnavailable,
  RecipientRejected,
  type SmsProvider,
} from '../../src/providers/types.js';
import { createVonageProvider } from '../../src/providers/vonage.js';
import { type TwilioServer, startTwilioServer } from '../support/providers/twilio-server.js';
import { type VonageServer, startVonageServer } from '../support/providers/vonage-server.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the send to fail'),
    (error: unknown) => error,
  );
}

/** A local Twilio for the enclosing describe, and a provider pointed at it, both fresh per test. */
function useTwilio() {
  const ctx = {} as { twilio: TwilioServer; provider: SmsProvider };
  beforeAll(async () => {
    ctx.twilio = await startTwilioServer();
  });
  afterAll(() => ctx.twilio.close());
  beforeEach(() => {
    ctx.twilio.failWith(null);
    ctx.twilio.received.length = 0;
    ctx.provider = createTwilioProvider({
      accountSid: ctx.twilio.accountSid,
      authToken: ctx.twilio.authToken,
      from: '+15005550006',
      baseUrl: ctx.twilio.url,
      timeoutMs: 300,
    });
  });
  return ctx;
}

describe('Twilio provider: accepted messages and error JSON', () => {
  const ctx = useTwilio();
  it('sends a form-encoded, authenticated message and returns its SM sid', async () => {
    const before = Date.now();
    const sent = await ctx.provider.send({
      to: '+447400123456',
      body: 'Order 42 shipped',
      statusCallbackUrl: 'https://hooks.example/twilio',
    });
    expect(sent.messageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(ctx.twilio.received).toEqual([
      expect.objectContaining({
        authenticated: true,
        to: '+447400123456',
        from: '+15005550006',
        body: 'Order 42 shipped',
        statusCallback: 'https://hooks.example/twilio',
        sid: sent.messageId,
        answered: 201,
      }),
    ]);
    expect(ctx.twilio.received[0]?.at).toBeGreaterThanOrEqual(before);
  });

  it('maps a 500 to ProviderUnavailable, retriable', async () => {
    ctx.twilio.failWith({ twilioCode: 20500 });
    const error = await rejection(ctx.provider.send({ to: '+447400123456', body: 'x' }));
    expect(error).toBeInstanceOf(ProviderUnavailable);
    expect(error).toMatchObject({ retriable: true, status: 500, code: '20500', provider: 'twilio' });
  });

  it("honours a 429's Retry-After", async () => {
    ctx.twilio.failWith({ twilioCode: 20429, retryAfterSeconds: 7 });
    const error = await rejection(ctx.provider.send({ to: '+447400123456', body: 'x' }));
    expect(error).toBeInstanceOf(ProviderUnavailable);
    expect(error).toMatchObject({ retryAfterMs: 7000, code: '20429' });
  });

  it('maps an invalid number (Twilio 21211, from its own validation) to RecipientRejected', async () => {
    const error = await rejection(ctx.provider.send({ to: '+1234', body: 'x' }));
    expect(error).toBeInstanceOf(RecipientRejected);
    expect(error).toMatchObject({ retriable: false, registrationGone: false, code: '21211', status: 400 });
  });

  it('marks an unsubscribed number (21610) as gone', async () => {
    ctx.twilio.failWith({ twilioCode: 21610 });
    const error = await rejection(ctx.provider.send({ to: '+447400123456', body: 'x' }));
    expect(error).toBeInstanceOf(RecipientRejected);
    expect(error).toMatchObject({ registrationGone: true, code: '21610' });
  });

  it('maps wrong credentials (20003) to ProviderRejected', async () => {
    const wrong = createTwilioProvider({
      accountSid: ctx.twilio.accountSid,
      authToken: 'nope',
      from: '+15005550006',
      baseUrl: ctx.twilio.url,
    });
    const error = await rejection(wrong.send({ to: '+447400123456', body: 'x' }));
    expect(error).toBeInstanceOf(ProviderRejected);
    expect(error).toMatchObject({ code: '20003', status: 401, retriable: false });
  });
});

describe('Twilio provider: timeouts, outages and configuration', () => {
  const ctx = useTwilio();

  it('maps a hung request to ProviderUnavailable after the timeout', async () => {
    ctx.twilio.failWith('hang');
    const started = Date.now();
    const error = await rejection(ctx.provider.send({ to: '+447400123456', body: 'x' }));
    expect(error).toBeInstanceOf(ProviderUnavailable);
    expect(error).toMatchObject({ code: 'timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(ctx.twilio.received[0]?.answered).toBe('hung');
  });

  it('maps a provider that is down to ProviderUnavailable', async () => {
    await ctx.twilio.down();
    try {
      const error = await rejection(ctx.provider.send({ to: '+447400123456', body: 'x' }));
      expect(error).toBeInstanceOf(ProviderUnavailable);
      // Refused, or a pooled keep-alive connection the server just closed: both mean unreachable.
      expect(['ECONNREFUSED', 'UND_ERR_SOCKET']).toContain((error as ProviderUnavailable).code);
    } finally {
      await ctx.twilio.up();
    }
  });

  it('fails only as many times as told, then accepts again', async () => {
    ctx.twilio.failWith({ status: 503, text: 'busy' }, { times: 1 });
    await expect(ctx.provider.send({ to: '+447400123456', body: 'x' })).rejects.toBeInstanceOf(ProviderUnavailable);
    expect((await ctx.provider.send({ to: '+447400123456', body: 'x' })).messageId).toMatch(/^SM/);
    expect(ctx.twilio.received.map((r) => r.answered)).toEqual([503, 201]);
  });

  it('refuses a configuration without exactly one sender', () => {
    expect(() => createTwilioProvider({ accountSid: ctx.twilio.accountSid, authToken: 't' })).toThrow(
      /exactly one of from/,
    );
  });
});

describe('verifyTwilioSignature', () => {
  // The worked example of Twilio's webhook-security documentation.
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params = {
    CallSid: 'CA1234567890ABCDE',
    Caller: '+12349013030',
    Digits: '1234',
    From: '+12349013030',
    To: '+18005551212',
  };

  it("accepts Twilio's documented example, whatever the order the parameters arrive in", () => {
    expect(verifyTwilioSignature(url, params, '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', '12345')).toBe(true);
    const { To, From, Digits, Caller, CallSid } = params;
    const reordered = { To, From, Digits, Caller, CallSid };
    expect(verifyTwilioSignature(url, reordered, '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', '12345')).toBe(true);
  });

  it('accepts the URL with the default port spelled out, as Twilio sometimes signs it', () => {
    expect(
      verifyTwilioSignature(
        'https://mycompany.com:443/myapp.php?foo=1&bar=2',
        params,
        '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
        '12345',
      ),
    ).toBe(true);
  });

  it('rejects a forged signature, a changed parameter, another token and a missing header', () => {
    expect(verifyTwilioSignature(url, params, '1/KCTR6DLpKmkAf8muzZqo1nDgQ=', '12345')).toBe(false);
    expect(verifyTwilioSignature(url, { ...params, Digits: '1235' }, '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', '12345')).toBe(
      false,
    );
    expect(verifyTwilioSignature(url, params, '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', '54321')).toBe(false);
    expect(verifyTwilioSignature(url, params, undefined, '12345')).toBe(false);
  });
});

describe('Twilio status callbacks from the local Twilio', () => {
  let twilio: TwilioServer;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    twilio = await startTwilioServer();
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await twilio.close();
    await receiver.close();
  });

  it('signs callbacks so that the verifier accepts them, and a forged one is refused', async () => {
    const provider = createTwilioProvider({
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      from: '+15005550006',
      baseUrl: twilio.url,
    });
    const { messageId } = await provider.send({ to: '+447400123456', body: 'x', statusCallbackUrl: receiver.url });
    await twilio.sendStatusCallback(messageId, 'delivered');
    await twilio.sendStatusCallback(messageId, 'undelivered', { errorCode: '30003', signWith: 'someone-else' });
    const [genuine, forged] = receiver.received.map((r) => ({
      params: Object.fromEntries(new URLSearchParams(r.body)),
      signature: r.headers['x-twilio-signature'] as string,
    }));
    expect(verifyTwilioSignature(receiver.url, genuine!.params, genuine!.signature, twilio.authToken)).toBe(true);
    expect(parseTwilioStatusCallback(genuine!.params)).toEqual({ messageId, status: 'delivered' });
    expect(verifyTwilioSignature(receiver.url, forged!.params, forged!.signature, twilio.authToken)).toBe(false);
  });
});

/** A local Vonage for the enclosing describe, and a provider pointed at it, both fresh per test. */
function useVonage() {
  const ctx = {} as { vonage: VonageServer; provider: SmsProvider };
  beforeAll(async () => {
    ctx.vonage = await startVonageServer();
  });
  afterAll(() => ctx.vonage.close());
  beforeEach(() => {
    ctx.vonage.failWith(null);
    ctx.vonage.received.length = 0;
    ctx.provider = createVonageProvider({
      apiKey: ctx.vonage.apiKey,
      apiSecret: ctx.vonage.apiSecret,
      from: 'Orderly',
      baseUrl: ctx.vonage.url,
      timeoutMs: 300,
    });
  });
  return ctx;
}

describe('Vonage provider: accepted messages', () => {
  const ctx = useVonage();
  it('sends with credentials, the number without +, and returns the message-id', async () => {
    const sent = await ctx.provider.send({
      to: '+447400123456',
      body: 'Order 42 shipped',
      statusCallbackUrl: 'https://hooks.example/vonage',
    });
    expect(sent.messageId).toMatch(/^[0-9A-F]{16}$/);
    expect(ctx.vonage.received).toEqual([
      expect.objectContaining({
        authenticated: true,
        to: '447400123456',
        from: 'Orderly',
        text: 'Order 42 shipped',
        callback: 'https://hooks.example/vonage',
        messageIds: [sent.messageId],
      }),
    ]);
  });

  it('sends non-GSM text as type=unicode (the local API refuses it otherwise)', async () => {
    await ctx.provider.send({ to: '+447400123456', body: 'Commande expédiée 📦' });
    expect(ctx.vonage.received[0]).toMatchObject({ type: 'unicode', text: 'Commande expédiée 📦', answered: 200 });
  });
});

describe('Vonage provider: failures', () => {
  const ctx = useVonage();

  it('maps status 1 (throttled) and HTTP 503 with Retry-After to ProviderUnavailable', async () => {
    ctx.vonage.failWith({ vonageStatus: '1', errorText: 'Throughput Rate Exceeded' }, { times: 1 });
    ctx.vonage.failWith({ status: 503, headers: { 'retry-after': '3' }, text: 'unavailable' }, { times: 1 });
    const throttled = await rejection(ctx.provider.send({ to: '+447400123456', body: 'x' }));
    expect(throttled).toBeInstanceOf(ProviderUnavailable);
    expect(throttled).toMatchObject({ code: '1' });
    const unavailable = await rejection(ctx.provider.send({ to: '+447400123456', body: 'x' }));
    expect(unavailable).toBeInstanceOf(ProviderUnavailable);
    expect(unavailable).toMatchObject({ status: 503, retryAfterMs: 3000 });
  });

  it('maps an invalid number to RecipientRejected and a barred number to gone', async () => {
    const invalid = await rejection(ctx.provider.send({ to: '+12', body: 'x' }));
    expect(invalid).toBeInstanceOf(RecipientRejected);
    expect(invalid).toMatchObject({ code: '3', registrationGone: false });
    ctx.vonage.failWith({ vonageStatus: '7', errorText: 'Number barred' });
    const barred = await rejection(ctx.provider.send({ to: '+447400123456', body: 'x' }));
    expect(barred).toBeInstanceOf(RecipientRejected);
    expect(barred).toMatchObject({ code: '7', registrationGone: true });
  });

  it('maps bad credentials (status 4) to ProviderRejected', async () => {
    const wrong = createVonageProvider({
      apiKey: ctx.vonage.apiKey,
      apiSecret: 'nope',
      from: 'Orderly',
      baseUrl: ctx.vonage.url,
    });
    const error = await rejection(wrong.send({ to: '+447400123456', body: 'x' }));
    expect(error).toBeInstanceOf(ProviderRejected);
    expect(error).toMatchObject({ code: '4' });
  });

  it('maps a hung request and a provider that is down to ProviderUnavailable', async () => {
    ctx.vonage.failWith('hang', { times: 1 });
    await expect(ctx.provider.send({ to: '+447400123456', body: 'x' })).rejects.toMatchObject({
      name: 'ProviderUnavailable',
      code: 'timeout',
    });
    await ctx.vonage.down();
    try {
      const error = await rejection(ctx.provider.send({ to: '+447400123456', body: 'x' }));
      expect(error).toBeInstanceOf(ProviderUnavailable);
      expect(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']).toContain((error as ProviderUnavailable).code);
    } finally {
      await ctx.vonage.up();
    }
  });
});
