import { describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { type SinkMail, mailTo, waitForMail } from '../support/mail-sink.js';
import { subscribedCustomer } from '../support/pipeline.js';
import { expectOnlyFlowSuccessTurnedOff, ofEvent, usePipelineWithApi } from '../support/recipient.js';

const { context, apiPort } = await usePipelineWithApi();

const oneClick = (url: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'List-Unsubscribe=One-Click',
  });

describe("the recipient's side: one-click unsubscribe (RFC 8058)", () => {
  it("a POST to the mail's List-Unsubscribe URL, as a mailbox provider sends it, stops that flow's success mails", async () => {
    const { pool } = context;
    const { customerId, orderId, user } = await subscribedCustomer(pool);
    const to = (mails: SinkMail[]) => mailTo(mails, user.email!);
    const first = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const [mail] = ofEvent(await waitForMail(to, 1), first);
    expect(mail, 'the first success mail arrives').toBeDefined();

    // What a mailbox provider reads: the header, unfolded, and the one-click marker.
    const header = mail!.headers['list-unsubscribe']!.replace(/\s+/g, ' ');
    expect(mail!.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(header).toMatch(/^<https?:\/\/[^>]+>, <mailto:unsubscribe@[^>]+\?subject=unsubscribe-[^>]+>$/);
    const url = /<(https?:\/\/[^>]+)>/.exec(header)![1]!;
    expect(url.startsWith(`http://127.0.0.1:${apiPort}/v1/unsubscribe/one-click?token=`)).toBe(true);

    const forged = await oneClick(url.slice(0, -4) + 'AAAA');
    expect(forged.status, 'a forged token is refused').toBe(400);
    expect(await forged.text()).toMatch(/^This unsubscribe link is not valid/);
    const page = await fetch(url);
    expect([page.status, await page.text()], 'GET only shows the button').toEqual([
      200,
      expect.stringMatching(/<form [^>]*method="post"/),
    ]);
    const answer = await oneClick(url);
    expect([answer.status, await answer.text()]).toEqual([
      200,
      'You will no longer receive emails about flow F1063 (success events).\n',
    ]);
    expect((await oneClick(url)).status, 'unsubscribing again is fine').toBe(200);
    await expectOnlyFlowSuccessTurnedOff(pool, {
      userId: user.id,
      email: user.email!,
      customerId,
      orderId,
      source: 'one-click',
    });
  });
});
