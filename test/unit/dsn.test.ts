import { describe, expect, it } from 'vitest';
import { parseReport } from '../../src/bounces/report.js';
import { abuseReport, deliveryStatusNotification } from '../support/dsn.js';

describe('parseReport: delivery status notifications', () => {
  it("reads a permanent failure's per-recipient Status and Diagnostic-Code (RFC 3464)", async () => {
    const raw = deliveryStatusNotification({ to: 'bounce+1@b.test', finalRecipient: 'ada@example.test' });
    await expect(parseReport(Buffer.from(raw))).resolves.toEqual({
      ok: true,
      kind: 'delivery-status',
      recipients: [
        {
          finalRecipient: 'ada@example.test',
          action: 'failed',
          status: '5.1.1',
          diagnostic: 'smtp; 550 5.1.1 user unknown',
        },
      ],
    });
  });

  it('reads a transient one', async () => {
    const raw = deliveryStatusNotification({ to: 'b@b.test', finalRecipient: 'a@x.test', status: '4.2.2' });
    const parsed = await parseReport(Buffer.from(raw));
    expect(parsed).toMatchObject({ ok: true, recipients: [{ action: 'delayed', status: '4.2.2' }] });
  });

  it('says why it cannot read anything else, without throwing', async () => {
    const plain = 'From: x@y.test\r\nSubject: hello\r\n\r\nI am out of office.\r\n';
    await expect(parseReport(Buffer.from(plain))).resolves.toEqual({
      ok: false,
      reason: 'not a delivery status notification or feedback report (Content-Type missing)',
    });
    const noStatus = deliveryStatusNotification({ to: 'b@b.test', finalRecipient: 'a@x.test', status: 'garbage' });
    await expect(parseReport(Buffer.from(noStatus))).resolves.toEqual({
      ok: false,
      reason: 'no per-recipient block with a valid Status',
    });
    const noise = Buffer.from([0, 255, 13, 10, 13, 10, 1, 2, 3]);
    await expect(parseReport(noise)).resolves.toMatchObject({ ok: false });
  });
});

describe('parseReport: feedback reports (RFC 5965 ARF)', () => {
  const original =
    'From: Orderly <n@orderly.test>\r\nTo: ada@x.test\r\nX-Orderly-Delivery: 21.0123456789abcdef.0123456789ab\r\nSubject: Your order\r\n\r\nHello\r\n';

  it("reads the feedback type, Original-Mail-From, and the returned original's Return-Path and X-Orderly-Delivery", async () => {
    const raw = abuseReport({ to: 'complaints@b.test', original, returnPath: 'bounce+21.aa.bb@b.test' });
    await expect(parseReport(Buffer.from(raw))).resolves.toEqual({
      ok: true,
      kind: 'feedback-report',
      feedback: {
        feedbackType: 'abuse',
        references: {
          originalMailFrom: 'bounce+21.aa.bb@b.test',
          returnPath: 'bounce+21.aa.bb@b.test',
          deliveryToken: '21.0123456789abcdef.0123456789ab',
        },
      },
    });
  });

  it('reads a report whose original lost its envelope sender, and one without any reference', async () => {
    const stripped = abuseReport({ to: 'c@b.test', original, feedbackType: 'Fraud' });
    await expect(parseReport(Buffer.from(stripped))).resolves.toMatchObject({
      feedback: { feedbackType: 'fraud', references: { deliveryToken: '21.0123456789abcdef.0123456789ab' } },
    });
    const bare = abuseReport({ to: 'c@b.test', original: 'Subject: hi\r\n\r\nhi\r\n' });
    await expect(parseReport(Buffer.from(bare))).resolves.toMatchObject({ feedback: { references: {} } });
  });

  it('says why a feedback report without a Feedback-Type cannot be read', async () => {
    const raw = abuseReport({ to: 'c@b.test', original }).replace('Feedback-Type: abuse\r\n', '');
    await expect(parseReport(Buffer.from(raw))).resolves.toEqual({
      ok: false,
      reason: 'no Feedback-Type in the message/feedback-report part',
    });
  });
});
