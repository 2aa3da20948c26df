import { randomUUID } from 'node:crypto';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderlyProcess, startOrderly, stopAll } from '../../scripts/orderly-processes.js';
import { sample } from '../../scripts/sample-data.js';
import { signWebhook } from '../../src/activities/webhook.js';
import { loadConfig } from '../../src/config.js';
import { workflowIds } from '../../src/domain.js';
import { createPool } from '../../src/db/pool.js';
import { type SinkMail, listMail, mailTo, waitForMail } from '../support/mail-sink.js';
import { orderly } from '../support/orderly-cli.js';
import { useTemporalClient } from '../support/pipeline.js';
import { until } from '../support/until.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';

let pool: Pool;
let receiver: WebhookReceiver;
const processes = new Map<string, OrderlyProcess>();
/** Reads what the Web UI shows of a digest workflow. */
const temporal = useTemporalClient();

beforeAll(async () => {
  pool = createPool(loadConfig());
  receiver = await startWebhookReceiver();
  for (const name of ['workflow-worker', 'email-worker', 'webhook-worker', 'ingest'] as const)
    processes.set(name, await startOrderly(name, {}, { logPrefix: 'digest-' }));
});
afterAll(async () => {
  await stopAll([...processes.values()]);
  await receiver.close();
  await pool.end();
});

/**
 * A customer with one order and one user whose email subscription collects digests; `viaCli`: set by
 * `orderly digest set` on a subscription made without.
 */
async function digestCustomer(digest: { windowS: number; maxItems?: number }, { viaCli = false } = {}) {
  const customerId = await sample.customer(pool, `Digest ${randomUUID()}`);
  const email = `digest.${randomUUID()}@example.test`;
  const user = await sample.user(pool, customerId, 'Grace', email);
  const subscriptionId = await sample.subscription(pool, user.id, viaCli ? {} : { digest });
  if (viaCli) {
    const set = await orderly('digest', 'set', subscriptionId, '--window', String(digest.windowS));
    expect(set.stdout).toBe(`subscription ${subscriptionId}: digests of ${digest.windowS} s, at most 500 events\n`);
  }
  const orderId = await sample.order(pool, customerId);
  return { customerId, orderId, user: { ...user, email } };
}

/** Commits `count` events of the order one after another (every third a failure); their ids in commit order. */
async function commitEvents(customerId: string, orderId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push(await sample.event(pool, { orderId, customerId, status: i % 3 === 2 ? 'failure' : 'success' }));
  return ids;
}

/** Waits until the user's digest number `index` (from 0) holds at least `items` events. */
const untilCollected = (userId: string, index: number, items: number) =>
  until(
    `digest ${index + 1} to hold ${items} events`,
    async () => (((await digestsOf(userId))[index]?.items ?? 0) >= items ? true : undefined),
    30_000,
  );

/** The event ids a digest mail lists, in its order. */
const listedEvents = (mail: SinkMail) => [...mail.text.matchAll(/event (\d+) \(/g)].map((m) => m[1]!);

/** The deliveries of these events, in commit order: their state and digest. */
async function deliveriesOf(eventIds: string[]): Promise<{ state: string; digestId: string | null }[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT state, digest_id FROM deliveries WHERE event_id IN (?) ORDER BY event_id',
    [eventIds],
  );
  return rows.map((r) => ({ state: String(r.state), digestId: r.digest_id === null ? null : String(r.digest_id) }));
}

async function digestsOf(userId: string) {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT id, state, items FROM digests WHERE user_id = ? ORDER BY id',
    [userId],
  );
  return rows.map((r) => ({ id: String(r.id), state: String(r.state), items: Number(r.items) }));
}

describe('digests (issue 24)', () => {
  it('30 events in one window become one mail listing all 30 in commit order; each delivery says digested', async () => {
    const { customerId, orderId, user } = await digestCustomer({ windowS: 15 }, { viaCli: true });
    const eventIds = await commitEvents(customerId, orderId, 30);
    const mails = await waitForMail((all) => mailTo(all, user.email), 1, { timeoutMs: 60_000, settleMs: 3_000 });
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('30 updates on your orders');
    expect(listedEvents(mails[0]!)).toEqual(eventIds);
    const [digest] = await digestsOf(user.id);
    expect(digest).toEqual({ id: digest!.id, state: 'delivered', items: 30 });
    const rows = await deliveriesOf(eventIds);
    expect(rows.map((r) => [r.state, r.digestId])).toEqual(eventIds.map(() => ['digested', digest!.id]));
    const [[own]] = await pool.query<RowDataPacket[]>(
      'SELECT state, template FROM deliveries WHERE notification_id = ?',
      [`digest-${digest!.id}`],
    );
    expect(own).toEqual({ state: 'delivered', template: 'order-digest' });
  }, 90_000);

  it('maxItems splits a window: full digests go at once, the rest when an operator flushes it', async () => {
    const { customerId, orderId, user } = await digestCustomer({ windowS: 600, maxItems: 10 });
    const eventIds = await commitEvents(customerId, orderId, 25);
    const full = await waitForMail((all) => mailTo(all, user.email), 2, { timeoutMs: 60_000, settleMs: 2_000 });
    expect(full.map(listedEvents)).toEqual([eventIds.slice(0, 10), eventIds.slice(10, 20)]);
    await untilCollected(user.id, 2, 5);
    const open = (await digestsOf(user.id))[2]!;
    expect(open.state).toBe('open');
    // The Web UI's list says what the digest is doing: its current details.
    const metadata = await temporal.client.workflow
      .getHandle(workflowIds.digest(open.id))
      .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toMatch(
      new RegExp(
        `^collecting until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC \\(orderly digest flush ${open.id} sends it now\\)$`,
      ),
    );
    const flushed = await orderly('digest', 'flush', open.id);
    expect(flushed.stdout).toContain(`digest ${open.id}: sending its 5 events now`);
    const mails = await waitForMail((all) => mailTo(all, user.email), 3, { timeoutMs: 30_000, settleMs: 2_000 });
    expect(mails.map(listedEvents)).toEqual([eventIds.slice(0, 10), eventIds.slice(10, 20), eventIds.slice(20)]);
    expect((await digestsOf(user.id)).map((d) => d.state)).toEqual(['delivered', 'delivered', 'delivered']);
    // A flushed digest is no longer collecting: flushing it again says so.
    const again = await orderly('digest', 'flush', open.id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`digest ${open.id} is delivered, no longer collecting`);
  }, 120_000);

  it('a cancelled digest sends nothing and records its events cancelled; the next event opens a new one', async () => {
    const { customerId, orderId, user } = await digestCustomer({ windowS: 600 });
    const eventIds = await commitEvents(customerId, orderId, 3);
    await untilCollected(user.id, 0, 3);
    const [digest] = await digestsOf(user.id);
    const cancelled = await orderly('digest', 'cancel', digest!.id, '--reason', 'customer asked');
    expect(cancelled.stdout).toContain(`digest ${digest!.id}: cancelled, its 3 events will not be sent`);
    await until(
      'the digest cancelled',
      async () => ((await digestsOf(user.id))[0]?.state === 'cancelled' ? true : undefined),
      30_000,
    );
    expect((await deliveriesOf(eventIds)).map((r) => r.state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    const [next] = await commitEvents(customerId, orderId, 1);
    await untilCollected(user.id, 1, 1);
    expect((await deliveriesOf([next!]))[0]!.digestId).toBe((await digestsOf(user.id))[1]!.id);
    expect(mailTo(await listMail(), user.email)).toEqual([]);
  }, 90_000);

  it('a webhook digest is one signed POST of type order.digest with its events in commit order', async () => {
    const customerId = await sample.customer(pool, `Digest hook ${randomUUID()}`);
    const user = await sample.user(pool, customerId, 'Hook', null);
    const endpoint = await sample.webhookEndpoint(pool, customerId, receiver.url);
    await sample.subscription(pool, user.id, { endpointId: endpoint.id, digest: { windowS: 8 } });
    const orderId = await sample.order(pool, customerId);
    const eventIds = await commitEvents(customerId, orderId, 6);
    const [digest] = await until(
      'the digest delivered',
      async () => {
        const found = await digestsOf(user.id);
        return found[0]?.state === 'delivered' ? found : undefined;
      },
      60_000,
    );
    const posts = receiver.received.filter((r) => r.body.includes(`"digestId":"${digest!.id}"`));
    expect(posts).toHaveLength(1);
    const post = posts[0]!;
    const body = JSON.parse(post.body) as {
      type: string;
      data: { events: { type: string; data: { eventId: string } }[] };
    };
    expect(body.type).toBe('order.digest');
    expect(body.data.events.map((e) => e.data.eventId)).toEqual(eventIds);
    expect(body.data.events[2]!.type).toBe('order.event.failed');
    const timestamp = Number(post.headers['webhook-timestamp']);
    expect(post.headers['webhook-signature']).toBe(signWebhook(endpoint.secret, post.messageId, timestamp, post.body));
  }, 90_000);

  it("sends a recipient's next digest only once the one before it is accepted, however slow its endpoint", async () => {
    const customerId = await sample.customer(pool, `Digest slow hook ${randomUUID()}`);
    const user = await sample.user(pool, customerId, 'Slow', null);
    const endpoint = await sample.webhookEndpoint(pool, customerId, receiver.url);
    await sample.subscription(pool, user.id, { endpointId: endpoint.id, digest: { windowS: 600, maxItems: 3 } });
    const orderId = await sample.order(pool, customerId);
    const ofThisEndpoint = () => receiver.received.filter((r) => r.body.includes(`"customerId":"${customerId}"`));
    // The endpoint takes 3 s to accept the first digest; the second is full meanwhile.
    receiver.reply = (request) =>
      request.body.includes(`"customerId":"${customerId}"`) && ofThisEndpoint().length === 1
        ? { status: 204, delayMs: 3_000 }
        : { status: 204 };
    const eventIds = await commitEvents(customerId, orderId, 6);
    await until(
      'two digests accepted',
      () => Promise.resolve(ofThisEndpoint().filter((r) => r.answeredAt).length >= 2 || undefined),
      60_000,
    );
    receiver.reply = () => ({ status: 204 });
    const [first, second] = ofThisEndpoint();
    const listed = (post: typeof first) =>
      (JSON.parse(post!.body) as { data: { events: { data: { eventId: string } }[] } }).data.events.map(
        (e) => e.data.eventId,
      );
    expect([...listed(first), ...listed(second)]).toEqual(eventIds);
    expect(second!.startedAt).toBeGreaterThanOrEqual(first!.answeredAt!);
  }, 90_000);

  it('loses, doubles and reorders nothing across a kill -9 of the workflow worker mid-window', async () => {
    const { customerId, orderId, user } = await digestCustomer({ windowS: 25 });
    const before = await commitEvents(customerId, orderId, 8);
    await untilCollected(user.id, 0, 4);
    await processes.get('workflow-worker')!.kill();
    const during = await commitEvents(customerId, orderId, 4);
    processes.set('workflow-worker', await startOrderly('workflow-worker', {}, { logPrefix: 'digest-' }));
    const after = await commitEvents(customerId, orderId, 8);
    const eventIds = [...before, ...during, ...after];
    const mails = await waitForMail((all) => mailTo(all, user.email), 1, { timeoutMs: 90_000, settleMs: 3_000 });
    // The window may close while the last events are still coming: they open the next digest, in order.
    const listed = mails.flatMap(listedEvents);
    if (listed.length < eventIds.length) {
      const next = (await digestsOf(user.id))[1];
      if (next !== undefined) await orderly('digest', 'flush', next.id);
      const all = await waitForMail((m) => mailTo(m, user.email), 2, { timeoutMs: 60_000, settleMs: 3_000 });
      listed.splice(0, listed.length, ...all.flatMap(listedEvents));
    }
    expect(listed).toEqual(eventIds);
  }, 180_000);
});
