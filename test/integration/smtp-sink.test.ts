import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createSmtpTransport } from '../../src/workers/email-worker.js';
import { waitForMail } from '../support/mail-sink.js';

describe('SMTP sink', () => {
  it('receives a mail sent with nodemailer and serves it back through its API', async () => {
    const transport = createSmtpTransport(loadConfig());
    const subject = `probe ${randomUUID()}`;
    await transport.sendMail({
      from: 'probe@orderly.local',
      to: 'reader@example.test',
      subject,
      text: 'the body of the probe',
    });
    transport.close();

    const [mail, ...others] = await waitForMail((mails) => mails.filter((m) => m.subject === subject), 1, {
      settleMs: 0,
    });
    expect(others).toEqual([]);
    expect(mail?.to[0]?.address).toBe('reader@example.test');
    expect(mail?.text.trim()).toBe('the body of the probe');
  });
});
