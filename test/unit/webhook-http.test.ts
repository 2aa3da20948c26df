import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { classifyResponse, parseRetryAfter, signWebhook, webhookPayload } from '../../src/activities/webhook.js';
import { orderEvent } from '../support/order-event.js';

const secret = `whsec_${Buffer.from('a-test-secret-of-enough-bytes-32').toString('base64')}`;
const event = orderEvent();

describe('webhook signature', () => {
  it('verifies with the standardwebhooks reference verifier', () => {
    const body = JSON.stringify(webhookPayload({ event, template: 'order-event-failed' }));
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_42_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(secret, 'msg_42_1', timestamp, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({
      type: 'order.event.failed',
      data: { eventId: '42', errorDesc: 'card declined' },
    });
  });

  it('does not verify once the body is changed', () => {
    const body = JSON.stringify(webhookPayload({ event, template: 'order-event-failed' }));
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_42_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(secret, 'msg_42_1', timestamp, body),
    };
    expect(() => new Webhook(secret).verify(body.replace('card declined', 'card accepted'), headers)).toThrow();
  });
});

describe('classifyResponse', () => {
  const now = Date.parse('2026-11-21T07:00:00Z');
  it('2xx is delivered; 410 is gone; other 4xx are rejected for good', () => {
    expect(classifyResponse(204, undefined, now)).toEqual({ kind: 'delivered', status: 204 });
    expect(classifyResponse(410, undefined, now).kind).toBe('gone');
    expect(classifyResponse(400, undefined, now).kind).toBe('rejected');
    expect(classifyResponse(404, undefined, now).kind).toBe('rejected');
  });

  it('429 and 503 wait for Retry-After; only 503 counts against the circuit', () => {
    expect(classifyResponse(429, '7', now)).toMatchObject({
      kind: 'retry',
      retryAfterMs: 7_000,
      countsAsFailure: false,
    });
    expect(classifyResponse(503, 'Sat, 21 Nov 2026 07:00:30 GMT', now)).toMatchObject({
      kind: 'retry',
      retryAfterMs: 30_000,
      countsAsFailure: true,
    });
    expect(classifyResponse(503, undefined, now)).not.toHaveProperty('retryAfterMs');
  });

  it('other 5xx are retried on the schedule and count against the circuit', () => {
    expect(classifyResponse(500, '5', now)).toEqual({
      kind: 'retry',
      status: 500,
      countsAsFailure: true,
      message: 'the endpoint answered 500',
    });
  });

  it('ignores a Retry-After that is neither seconds nor a date', () => {
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
  });
});
