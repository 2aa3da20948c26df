import { describe, expect, it } from 'vitest';
import type { OrderEvent } from '../../src/domain.js';
import { countSegments, fitToSegments } from '../../src/providers/sms-text.js';
import { renderPush, renderSmsText } from '../../src/templates/text.js';

const event: OrderEvent = {
  eventId: '1001',
  orderId: '42',
  customerId: '7',
  flowId: 'F1063',
  eventType: 'payment.capture',
  status: 'failure',
  source: 'checkout',
  executionMs: 1250,
  errorCode: 'E402',
  errorDesc: 'Card declined\nby the issuer',
  occurredAt: '2026-11-22T10:00:00.000Z',
};

describe('SMS and push texts', () => {
  it("say what the email's subject says, on one line, with the order", () => {
    const text = renderSmsText('order-event-failed', { event, username: 'Ada' });
    expect(text).toContain('Event 1001 failed: E402');
    expect(text).toContain('Order 42');
    expect(text).toContain('Card declined by the issuer');
    expect(text).not.toMatch(/\n/);
    expect(renderSmsText('order-event-succeeded', { event, username: 'Ada' })).toContain(
      'Event 1001 processed successfully',
    );
  });

  it('a long error description is cut to the segment cap, still GSM-7', () => {
    const long = { ...event, errorDesc: 'x'.repeat(2000) };
    const text = fitToSegments(renderSmsText('order-event-failed', { event: long, username: 'Ada' }), 3);
    expect(countSegments(text)).toMatchObject({ encoding: 'GSM-7', segments: 3 });
    expect(text.endsWith('...')).toBe(true);
  });

  it('a push carries title, body and the event and order ids as string data', () => {
    const push = renderPush('order-event-failed', { event, username: 'Ada' });
    expect(push.title).toBe('Event 1001 failed: E402');
    expect(push.body).toContain('Order 42');
    expect(push.data).toMatchObject({ eventId: '1001', orderId: '42', notificationId: '1001', status: 'failure' });
    expect(Object.values(push.data).every((v) => typeof v === 'string')).toBe(true);
  });
});
