import { createServer } from 'node:http';
import type { RowDataPacket } from 'mysql2/promise';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { launchChromium } from '../support/browser.js';
import { deliveriesOf } from '../support/expectations.js';
import { type SinkMail, listMail, mailTo, waitForMail } from '../support/mail-sink.js';
import { until } from '../support/until.js';
import { expectOnlyFlowSuccessTurnedOff, ofEvent, usePipelineWithApi } from '../support/recipient.js';

const { context, apiPort, publicBaseUrl } = await usePipelineWithApi();
let browser: Browser;

// Installs Debian's chromium first when it is missing (a few minutes on a fresh machine).
beforeAll(async () => {
  browser = await launchChromium();
}, 600_000);
afterAll(async () => {
  await browser?.close();
});

/** The footer's link to the preference page, as a mail client shows it. */
const preferenceLinkOf = (mail: SinkMail) =>
  /href="(http:\/\/[^"]+\/v1\/preferences\?token=[^"]+)"/.exec(mail.html)?.[1]?.replaceAll('&amp;', '&');

/** Clicks Save and waits for the page the POST answers. */
async function save(page: Page): Promise<number> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Save' }).click(),
  ]);
  await page.waitForLoadState();
  return response.status();
}

/** A page of another site (localhost, not 127.0.0.1) whose form posts to the preference URL, as an attacker would. */
async function otherSite(action: string, csrf: string) {
  const html = `<!doctype html><form method="post" action="${action}">
<input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="shown" value="mute"><input type="hidden" name="mute" value="on">
<button type="submit">Win a prize</button></form>`;
  const server = createServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'text/html' }).end(html),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://localhost:${port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe("the recipient's preference page, in Chromium", () => {
  it("turns off a flow's success mails from the mail's footer link, keeps its failures, and turns them back on", async () => {
    const { pool } = context;
    const customerId = await sample.customer(pool, `Preferences ${apiPort}`);
    const user = await sample.user(pool, customerId, 'Grace', `grace.${apiPort}.${Date.now()}@example.test`);
    await sample.subscription(pool, user.id, { flowId: 'F1063' });
    await sample.subscription(pool, user.id, { flowId: 'F2001' });
    const orderId = await sample.order(pool, customerId);
    const to = (mails: SinkMail[]) => mailTo(mails, user.email!);

    const first = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const [mail] = ofEvent(await waitForMail(to, 1), first);
    const link = preferenceLinkOf(mail!);
    expect(link, 'the mail links to the preference page').toMatch(
      new RegExp(`^${publicBaseUrl}/v1/preferences\\?token=`),
    );
    expect(mail!.text, 'the plain-text part too').toContain(link);

    const page = await browser.newPage();
    expect((await page.goto(link!))?.status()).toBe(200);
    expect(await page.title()).toBe('Notification preferences · Orderly');
    const flow = page.getByRole('group', { name: 'Flow F1063' });
    const success = flow.getByLabel('Success events by email');
    expect([await success.isChecked(), await flow.getByLabel('Failure events by email').isChecked()]).toEqual([
      true,
      true,
    ]);
    await success.uncheck();
    expect(await save(page)).toBe(200);
    expect(await page.getByRole('status').textContent()).toBe(
      'Saved. Turned off: success events of flow F1063 by email.',
    );
    expect(
      await page.getByRole('group', { name: 'Flow F1063' }).getByLabel('Success events by email').isChecked(),
    ).toBe(false);
    await expectOnlyFlowSuccessTurnedOff(pool, {
      userId: user.id,
      email: user.email!,
      customerId,
      orderId,
      source: 'preferences',
    });

    // Back on, from the same link: the next success mail of the flow arrives again.
    await page.goto(link!);
    await page.getByRole('group', { name: 'Flow F1063' }).getByLabel('Success events by email').check();
    expect(await save(page)).toBe(200);
    expect(await page.getByRole('status').textContent()).toBe(
      'Saved. Turned on: success events of flow F1063 by email.',
    );
    const again = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    expect(ofEvent(await waitForMail(to, 4), again), 'delivered again').toHaveLength(1);
    const [delivered] = await until('the delivery after turning it back on', async () => {
      const rows = await deliveriesOf(pool, [again]);
      return rows[0]?.state === 'delivered' ? rows : undefined;
    });
    expect(delivered?.reason ?? null).toBeNull();
    await page.close();
  });

  it('sets quiet hours from the preference page (window, zone, failures), refuses an unknown zone, and turns them off', async () => {
    const { pool } = context;
    const customerId = await sample.customer(pool, `Quiet hours ${apiPort}`);
    const user = await sample.user(pool, customerId, 'Hedy', `hedy.${apiPort}.${Date.now()}@example.test`);
    await sample.subscription(pool, user.id, { flowId: 'F1063' });
    const orderId = await sample.order(pool, customerId);
    const eventId = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const [mail] = ofEvent(await waitForMail((mails) => mailTo(mails, user.email!), 1), eventId);
    const link = preferenceLinkOf(mail!)!;
    const stored = async () => {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT time_zone, starts_at, ends_at, channels, failures_exempt FROM quiet_hours WHERE user_id = ?',
        [user.id],
      );
      return rows[0];
    };

    const page = await browser.newPage();
    await page.goto(link);
    const quiet = page.getByRole('group', { name: 'Quiet hours' });
    await quiet.getByLabel('Hold texts and push notifications during quiet hours').check();
    await quiet.getByLabel('From').fill('21:30');
    await quiet.getByLabel('to', { exact: true }).fill('06:45');
    await quiet.getByLabel('Time zone').fill('Europe/Paris');
    await quiet.getByLabel('Failures still come through at once').check();
    expect(await save(page)).toBe(200);
    expect(await page.getByRole('status').textContent()).toBe(
      'Saved. Quiet hours: 21:30 to 06:45, Europe/Paris, failures at once.',
    );
    expect(await stored()).toEqual({
      time_zone: 'Europe/Paris',
      starts_at: '21:30',
      ends_at: '06:45',
      channels: 'sms,push',
      failures_exempt: 1,
    });

    await page.getByRole('group', { name: 'Quiet hours' }).getByLabel('Time zone').fill('Mars/Olympus');
    expect(await save(page)).toBe(400);
    expect(await page.textContent('body')).toContain('Quiet hours: unknown time zone "Mars/Olympus"');
    expect((await stored())?.time_zone).toBe('Europe/Paris');

    await page.goto(link);
    await page
      .getByRole('group', { name: 'Quiet hours' })
      .getByLabel(/during quiet hours/)
      .uncheck();
    expect(await save(page)).toBe(200);
    expect(await page.getByRole('status').textContent()).toBe('Saved. Quiet hours off.');
    expect(await stored()).toBeUndefined();
    await page.close();
  });

  it("chooses a daily digest of a flow's emails: the next event is collected into a digest closing in a day, not mailed", async () => {
    const { pool } = context;
    const customerId = await sample.customer(pool, `Daily digest ${apiPort}`);
    const user = await sample.user(pool, customerId, 'Ida', `ida.${apiPort}.${Date.now()}@example.test`);
    await sample.subscription(pool, user.id, { flowId: 'F1063' });
    const orderId = await sample.order(pool, customerId);
    const first = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const [mail] = ofEvent(await waitForMail((mails) => mailTo(mails, user.email!), 1), first);

    const page = await browser.newPage();
    await page.goto(preferenceLinkOf(mail!)!);
    await page
      .getByRole('group', { name: 'Flow F1063' })
      .getByLabel('Daily digest: these emails together, once a day')
      .check();
    expect(await save(page)).toBe(200);
    expect(await page.getByRole('status').textContent()).toBe('Saved. Daily digest on: F1063.');
    await page.close();

    const next = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const digest = await until(
      'the event collected',
      async () => {
        const [rows] = await pool.query<RowDataPacket[]>(
          `SELECT g.digest_key, g.state, TIMESTAMPDIFF(HOUR, g.opened_at, g.closes_at) AS hours
             FROM deliveries d JOIN digests g ON g.id = d.digest_id WHERE d.event_id = ? AND d.state = 'digested'`,
          [next],
        );
        return rows[0] && { ...rows[0], hours: Number(rows[0].hours) };
      },
      30_000,
    );
    expect(digest).toEqual({ digest_key: `${user.id}:email:0:F1063`, state: 'open', hours: 24 });
    expect(ofEvent(mailTo(await listMail(), user.email!), next)).toEqual([]);
  });

  it('shows a clear error page for a forged link, and refuses a form posted from another site', async () => {
    const { pool } = context;
    const customerId = await sample.customer(pool, `Preferences forged ${apiPort}`);
    const user = await sample.user(pool, customerId, 'Alan', `alan.${apiPort}.${Date.now()}@example.test`);
    await sample.subscription(pool, user.id, { flowId: 'F1063' });
    const orderId = await sample.order(pool, customerId);
    const first = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
    const [mail] = ofEvent(await waitForMail((mails) => mailTo(mails, user.email!), 1), first);
    const link = preferenceLinkOf(mail!)!;

    const page = await browser.newPage();
    const forged = await page.goto(`${link.slice(0, -4)}AAAA`);
    expect(forged?.status()).toBe(400);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Link not valid');
    const text = await page.locator('main').textContent();
    expect(text).toContain('This link to your notification preferences is not valid');
    expect(text).not.toMatch(/Error|at .*\.[jt]s:\d+/);

    // The attacker even has the page's form token: the browser still says where the form comes from.
    await page.goto(link);
    const csrf = await page.locator('input[name="csrf"]').getAttribute('value');
    const attacker = await otherSite(link, csrf!);
    try {
      await page.goto(attacker.url);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Win a prize' }).click(),
      ]);
      expect(response.status()).toBe(403);
      expect(await response.text()).toContain('This form was sent from another site. Nothing was changed.');
    } finally {
      await attacker.close();
    }
    const [optOuts] = await pool.query<RowDataPacket[]>('SELECT id FROM recipient_opt_outs WHERE user_id = ?', [
      user.id,
    ]);
    expect(optOuts, 'nothing recorded').toEqual([]);
    await page.close();
  });
});
