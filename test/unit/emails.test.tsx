import { render } from '@react-email/render';
import { describe, expect, it } from 'vitest';
import { renderDigest, renderEmail } from '../../emails/index.js';
import { OrderEventFailedEmail } from '../../emails/order-event-failed.js';
import { OrderEventSucceededEmail } from '../../emails/order-event-succeeded.js';
import type { OrderEvent } from '../../src/domain.js';

const event: OrderEvent = {
  eventId: '10452',
  orderId: '77',
  customerId: '3',
  flowId: 'F1063',
  eventType: 'order.placed',
  status: 'success',
  source: 'checkout-service',
  executionMs: 1234,
  errorCode: null,
  errorDesc: null,
  occurredAt: '2026-03-01T10:00:00.000Z',
};
const preferencesUrl = 'https://orderly.example.com/v1/preferences?token=a.b&c';

describe('email templates', () => {
  it('render their PreviewProps (what `email dev` shows)', async () => {
    const success = await render(<OrderEventSucceededEmail {...OrderEventSucceededEmail.PreviewProps} />, {
      plainText: true,
    });
    expect(success).toContain('your recent event with identifier 10452 was processed successfully in 1.234 seconds');
    const failure = await render(<OrderEventFailedEmail {...OrderEventFailedEmail.PreviewProps} />, {
      plainText: true,
    });
    expect(failure).toContain('E402: Card declined by issuer');
  });

  it("say the seed's success sentence with the event's fields, under Orderly's brand", async () => {
    const mail = await renderEmail('order-event-succeeded', { event, username: 'ada', preferencesUrl });
    expect(mail.subject).toBe('Event 10452 processed successfully');
    expect(mail.text).toContain('Hi ada,');
    expect(mail.text).toContain(
      'We are pleased to inform you that your recent event with identifier 10452 was processed successfully in 1.234 seconds.',
    );
    expect(mail.text).toContain(
      'Please note that this event was part of Workflow F1063 and was sourced from checkout-service.',
    );
    expect(mail.text).toContain('© 2026 Orderly. All rights reserved.');
    expect(mail.html).not.toMatch(/RoboMQ/i);
  });

  it("say the seed's failure sentence and error summary", async () => {
    const mail = await renderEmail('order-event-failed', {
      event: { ...event, status: 'failure', errorCode: 'E402', errorDesc: 'Card declined' },
      username: 'ada',
      preferencesUrl,
    });
    expect(mail.subject).toBe('Event 10452 failed: E402');
    expect(mail.text).toContain(
      'We regret to inform you that there was an issue processing your event with identifier 10452 from checkout-service source for the workflow F1063.',
    );
    expect(mail.text).toContain('E402: Card declined');
  });

  it("carry a visible footer link to the recipient's preference page, in HTML and plain text", async () => {
    for (const template of ['order-event-succeeded', 'order-event-failed'] as const) {
      const mail = await renderEmail(template, { event, username: 'ada', preferencesUrl });
      expect(mail.html).toContain('href="https://orderly.example.com/v1/preferences?token=a.b&amp;c"');
      expect(mail.html).toMatch(/>your notification preferences<\/a>/);
      expect(mail.text).toContain(
        'Choose which of these emails you receive: your notification preferences https://orderly.example.com/v1/preferences?token=a.b&c\n',
      );
    }
  });

  it('escape HTML from user-supplied fields and keep the subject on one line', async () => {
    const mail = await renderEmail('order-event-failed', {
      event: {
        ...event,
        status: 'failure',
        errorCode: 'E1\r\nBcc: victim@example.test',
        errorDesc: '<script>alert(1)</script>',
      },
      username: '<img src=x onerror=alert(1)>',
      preferencesUrl,
    });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<img src=x');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail.subject).toBe('Event 10452 failed: E1 Bcc: victim@example.test');
    expect(mail.subject).not.toMatch(/[\r\n]/);
  });

  it("list a digest's events in the order given, one line each, escaped, a long error cut", async () => {
    const failed = {
      ...event,
      eventId: '10453',
      status: 'failure' as const,
      errorCode: 'E402',
      errorDesc: `<b>x</b>${'y'.repeat(500)}`,
    };
    const items = [
      { template: 'order-event-succeeded' as const, event },
      { template: 'order-event-failed' as const, event: failed },
    ];
    const mail = await renderDigest({ items, username: 'Ada', preferencesUrl });
    expect(mail.subject).toBe('2 updates on your orders');
    expect(mail.text).toContain(
      '1. Order 77, event 10452 (order.placed, workflow F1063): succeeded, 2026-03-01 10:00 UTC',
    );
    expect(mail.text).toContain('2. Order 77, event 10453 (order.placed, workflow F1063): failed: E402 <b>x</b>');
    expect(mail.html).not.toContain('<b>x</b>');
    expect(mail.text).not.toContain('y'.repeat(200));
  });
});
