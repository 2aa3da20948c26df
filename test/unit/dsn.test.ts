import { describe, expect, it } from 'vitest';
import { parseDeliveryStatusNotification } from '../../src/bounces/dsn.js';
import { deliveryStatusNotification } from '../support/dsn.js';

describe('parseDeliveryStatusNotification', () => {
  it("reads a permanent failure's per-recipient Status and Diagnostic-Code (RFC 3464)", async () => {
    const raw = deliveryStatusNotification({ to: 'bounce+1@b.test', finalRecipient: 'ada@example.test' });
    await expect(parseDeliveryStatusNotification(Buffer.from(raw))).resolves.toEqual({
      ok: true,
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
    const parsed = await parseDeliveryStatusNotification(Buffer.from(raw));
    expect(parsed).toMatchObject({ ok: true, recipients: [{ action: 'delayed', status: '4.2.2' }] });
  });

  it('says why it cannot read anything else, without throwing', async () => {
    const plain = 'From: x@y.test\r\nSubject: hello\r\n\r\nI am out of office.\r\n';
    await expect(parseDeliveryStatusNotification(Buffer.from(plain))).resolves.toEqual({
      ok: false,
      reason: 'not a delivery status notification (Content-Type missing)',
    });
    const noStatus = deliveryStatusNotification({ to: 'b@b.test', finalRecipient: 'a@x.test', status: 'garbage' });
    await expect(parseDeliveryStatusNotification(Buffer.from(noStatus))).resolves.toEqual({
      ok: false,
      reason: 'no per-recipient block with a valid Status',
    });
    const noise = Buffer.from([0, 255, 13, 10, 13, 10, 1, 2, 3]);
    await expect(parseDeliveryStatusNotification(noise)).resolves.toMatchObject({ ok: false });
  });
});
