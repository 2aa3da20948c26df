import { MockActivityEnvironment } from '@temporalio/testing';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { describe, expect, it } from 'vitest';
import { createEmailActivities } from '../../src/activities/email.js';
import { createBounceAddresses } from '../../src/bounce-address.js';
import { createLinkSigner } from '../../src/recipient-links.js';
import { orderEvent } from '../support/order-event.js';

const event = orderEvent({ eventId: '1001', notificationId: '1001' });

/** Every send may go: the claims themselves are tested against MySQL (test/integration/delivery-claims.test.ts). */
const unguarded: Parameters<typeof createEmailActivities>[0]['claims'] = {
  claim: () => Promise.resolve({ kind: 'claimed', attemptId: 'unit' }),
  whileClaimed: (_delivery, _attemptId, send) => send(),
};

describe('the email activity', () => {
  it('adds List-Unsubscribe (https and mailto, one signed token for the user, flow and status) and List-Unsubscribe-Post', async () => {
    const sent: string[] = [];
    const envelopes: { from: string | false; to: string[] }[] = [];
    const stream = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const transport = {
      sendMail: async (mail: nodemailer.SendMailOptions) => {
        const info = await stream.sendMail(mail);
        sent.push((info.message as Buffer).toString());
        envelopes.push(info.envelope);
        return info;
      },
    } as unknown as Transporter<SMTPPool.SentMessageInfo>;
    const signer = createLinkSigner('');
    const bounces = createBounceAddresses('', 'bounces.orderly.test');
    const email = createEmailActivities({
      transport,
      from: 'Orderly <n@orderly.test>',
      unsubscribe: { signer, publicBaseUrl: 'https://orderly.example.com' },
      bounces,
      claims: unguarded,
    });
    const input = { template: 'order-event-failed' as const, event, userId: '21', username: 'Ada', to: 'ada@x.test' };
    await new MockActivityEnvironment().run((i: typeof input) => email.sendEmail(i), input);

    // The envelope sender is the delivery's bounce address (VERP); the header From stays the configured one.
    expect(envelopes[0]!.from).toBe(bounces.addressFor('1001', '21'));
    expect(bounces.read(envelopes[0]!.from as string)).toMatchObject({ userId: '21' });
    expect(sent[0]).toMatch(/^From: Orderly <n@orderly\.test>\r$/m);
    const headers = sent[0]!.split('\r\n\r\n')[0]!.replace(/\r\n\s+/g, ' ');
    expect(headers).toContain('\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n');
    expect(headers).toContain('Message-ID: <event-1001.user-21@orderly.local>');
    // The same signed token as the bounce address, for complaints whose returned original lost its Return-Path.
    const deliveryToken = /^X-Orderly-Delivery: (\S+)$/m.exec(headers)?.[1];
    expect(bounces.readToken(deliveryToken!)).toEqual(bounces.read(envelopes[0]!.from as string));
    const list = /^List-Unsubscribe: <([^>]+)>, <([^>]+)>$/m.exec(headers);
    const url = new URL(list![1]!);
    expect(`${url.origin}${url.pathname}`).toBe('https://orderly.example.com/v1/unsubscribe/one-click');
    const token = url.searchParams.get('token')!;
    expect(list![2]).toBe(`mailto:unsubscribe@orderly.example.com?subject=unsubscribe-${token}`);
    await expect(signer.verify(token)).resolves.toEqual({
      userId: '21',
      channel: 'email',
      flowId: 'F1063',
      status: 'failure',
    });
  });

  it("links the footer of the HTML and the text part to the user's preference page, with a token for that user", async () => {
    const stream = nodemailer.createTransport({ streamTransport: true, buffer: true });
    let message = '';
    const transport = {
      sendMail: async (mail: nodemailer.SendMailOptions) => {
        message = `${mail.html as string}${mail.text as string}`;
        return stream.sendMail(mail);
      },
    } as unknown as Transporter<SMTPPool.SentMessageInfo>;
    const signer = createLinkSigner('');
    const email = createEmailActivities({
      transport,
      from: 'Orderly <n@orderly.test>',
      unsubscribe: { signer, publicBaseUrl: 'https://orderly.example.com' },
      bounces: createBounceAddresses('', 'bounces.orderly.test'),
      claims: unguarded,
    });
    const input = { template: 'order-event-succeeded' as const, event, userId: '21', username: 'Ada', to: 'a@x.test' };
    await new MockActivityEnvironment().run((i: typeof input) => email.sendEmail(i), input);
    const links = [...message.matchAll(/https:\/\/orderly\.example\.com\/v1\/preferences\?token=([\w.%-]+)/g)];
    expect(links, 'once in the HTML, once in the text').toHaveLength(2);
    for (const [, token] of links)
      await expect(signer.verifyPreferences(decodeURIComponent(token!))).resolves.toBe('21');
  });
});
