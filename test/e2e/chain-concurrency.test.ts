import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LedgerRow, type ReceivedCopy, type WrittenEvent, judge } from '../../bench/verdict.js';
import { type OrderlyProcess, startOrderly, stopAll } from '../../scripts/orderly-processes.js';
import { sample } from '../../scripts/sample-data.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { type OrderEvent, workflowIds } from '../../src/domain.js';
import { appendToChain } from '../../src/order-chain/store.js';
import { submitOrderEvent } from '../../src/order-chain/submit.js';
import { type FaultySmtp, startFaultySmtp } from '../support/faulty-smtp.js';
import { until } from '../support/until.js';
import { dataConverterOf } from '../../src/payload-codec.js';

/**
 * The ordering chain under interleaving, on the real stack: in 200 rounds, notifications of a few orders are
 * appended by the ingest (rows captured by Debezium), by two other submitters (as a second ingest process and the
 * API would), redelivered, appended and never started (a submitter killed between its append and its start), while
 * the workflow worker is killed with SIGKILL now and then. Judged by the verdict over every copy the SMTP server
 * got, in the order the chain recorded: no two notifications of one order ever sent at once or out of order, none
 * lost or doubled beyond the sends in flight at a kill, and nobody waiting long for a notification never started.
 */
const rounds = 200;
const orderCount = 4;
const smtpPort = 2529;
const env = { SMTP_PORT: String(smtpPort) };

let smtp: FaultySmtp;
let pool: Pool;
const processes = new Map<string, OrderlyProcess>();
const submitters: { client: Client; pool: Pool; connection: Connection }[] = [];

beforeAll(async () => {
  smtp = await startFaultySmtp(smtpPort);
  // Each send takes a little while, so a notification released too early overlaps the one before it.
  smtp.acceptDelayMs = 30;
  pool = createPool(loadConfig());
  for (const name of ['workflow-worker', 'email-worker', 'ingest'] as const)
    processes.set(name, await startOrderly(name, env, { logPrefix: 'chain-' }));
  for (let i = 0; i < 2; i++) {
    const connection = await Connection.connect({ address: loadConfig().TEMPORAL_ADDRESS });
    submitters.push({
      client: new Client({ connection, dataConverter: dataConverterOf(loadConfig()) }),
      pool: createPool(loadConfig()),
      connection,
    });
  }
});
afterAll(async () => {
  await stopAll([...processes.values()]);
  for (const s of submitters) await Promise.all([s.connection.close(), s.pool.end()]);
  await pool.end();
  await smtp.close();
});

/** The notification a mail is about, from its Message-ID (`<event-<key>.user-<id>@...>`). */
const notificationOf = (raw: string) => /^Message-ID: <event-(.+?)\.user-/im.exec(raw)?.[1];

/** Each order's notifications in chain order, walked back from the chain's end through `notification_runs`. */
async function chainOf(orderId: string): Promise<{ workflowId: string; createdAtMs: number }[]> {
  const [[end]] = await pool.query<RowDataPacket[]>(
    'SELECT last_workflow_id FROM notification_chain WHERE order_id = ?',
    [orderId],
  );
  const chain: { workflowId: string; createdAtMs: number }[] = [];
  for (let id = (end?.last_workflow_id as string | undefined) ?? null; id !== null;) {
    const [[run]] = await pool.query<RowDataPacket[]>(
      'SELECT predecessor_workflow_id, UNIX_TIMESTAMP(created_at) * 1000 AS created_ms FROM notification_runs WHERE workflow_id = ?',
      [id],
    );
    chain.unshift({ workflowId: id, createdAtMs: Number(run?.created_ms) });
    id = (run?.predecessor_workflow_id as string | null | undefined) ?? null;
  }
  return chain;
}

describe('the ordering chain under interleaved appends, redeliveries, failed starts and kills', () => {
  it(`keeps every order in chain order over ${rounds} rounds, with no phantom holding anyone up`, async () => {
    const customerId = await sample.customer(pool, `Chain ${randomUUID()}`);
    const user = await sample.user(pool, customerId, 'Chain', `chain.${randomUUID()}@example.test`);
    await sample.subscription(pool, user.id);
    const orders: string[] = [];
    for (let i = 0; i < orderCount; i++) orders.push(await sample.order(pool, customerId));
    const submitted: OrderEvent[] = [];
    const phantoms = new Set<string>();
    const sentKeys = new Set<string>();
    let crashes = 0;
    const crashTimes: number[] = [];
    const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;

    for (let round = 0; round < rounds; round++) {
      const orderId = pick(orders);
      const roll = Math.random();
      const direct = (): OrderEvent => ({
        eventId: '0',
        notificationId: `c${round}x${randomUUID().slice(0, 8)}`,
        orderId,
        customerId,
        flowId: 'F1063',
        eventType: 'step.completed',
        status: 'success',
        source: 'chain-test',
        executionMs: null,
        errorCode: null,
        errorDesc: null,
        occurredAt: new Date().toISOString(),
      });
      if (roll < 0.35) {
        await sample.event(pool, { orderId, customerId, status: round % 3 === 0 ? 'failure' : 'success' });
      } else if (roll < 0.65) {
        const event = direct();
        await submitOrderEvent(pick(submitters), event);
        submitted.push(event);
        sentKeys.add(event.notificationId!);
      } else if (roll < 0.85 && submitted.length > 0) {
        await submitOrderEvent(pick(submitters), pick(submitted)); // a redelivery
      } else if (roll < 0.95) {
        const phantom = direct();
        await appendToChain(pool, orderId, workflowIds.notification(phantom.notificationId!));
        phantoms.add(workflowIds.notification(phantom.notificationId!));
      } else if (crashes < 3) {
        crashes++;
        crashTimes.push(Date.now());
        await processes.get('workflow-worker')!.kill();
        processes.set('workflow-worker', await startOrderly('workflow-worker', env, { logPrefix: 'chain-' }));
      }
      await sleep(Math.random() * 60);
    }

    // Every notification the chain holds, but the phantoms, delivered.
    const chains = new Map<string, Awaited<ReturnType<typeof chainOf>>>();
    await until(
      'every notification in the chains to be delivered',
      async () => {
        for (const orderId of orders) chains.set(orderId, await chainOf(orderId));
        const expected = [...chains.values()].flat().filter((n) => !phantoms.has(n.workflowId));
        const received = new Set(smtp.received.map((m) => notificationOf(m.raw)));
        return expected.every((n) => received.has(n.workflowId.slice('notification:'.length))) ? true : undefined;
      },
      240_000,
    );
    await sleep(3_000); // a late copy still counts

    // The chain's order is the commit order the verdict holds every copy to.
    const positionOf = new Map<string, string>();
    const events: WrittenEvent[] = [];
    for (const [o, orderId] of orders.entries())
      for (const [p, n] of (chains.get(orderId) ?? []).entries()) {
        if (phantoms.has(n.workflowId)) continue;
        const eventId = String((o + 1) * 100_000 + p);
        positionOf.set(n.workflowId.slice('notification:'.length), eventId);
        events.push({ eventId, orderId, occurredAtMs: n.createdAtMs });
      }
    const copies: ReceivedCopy[] = smtp.received.map((m) => ({
      channel: 'email',
      eventId: positionOf.get(notificationOf(m.raw) ?? '') ?? null,
      startedAt: m.startedAt,
      acceptedAt: m.acceptedAt,
    }));
    const [rows] = await pool.query<RowDataPacket[]>(
      "SELECT notification_id, state FROM deliveries WHERE customer_id = ? AND channel = 'email'",
      [customerId],
    );
    const ledger: LedgerRow[] = rows.map((r) => ({
      eventId: positionOf.get(String(r.notification_id)) ?? '',
      channel: 'email',
      state: String(r.state),
    }));
    // A send in flight when the worker was killed may arrive twice: those within a few seconds of a kill.
    const nearKill = new Set(
      copies.filter((c) => crashTimes.some((t) => c.startedAt < t && c.startedAt > t - 5_000)).map((c) => c.eventId!),
    );
    const verdict = judge(
      { written: events.length, events, copies, ledger, deadLettered: new Set() },
      { mayDuplicate: nearKill },
    );
    expect(verdict.failures).toEqual([]);
    expect(events.length).toBeGreaterThan(rounds / 2);
    expect(sentKeys.size).toBeGreaterThan(0);

    // Nobody waited long behind a phantom: the notification after each one was accepted within 60 s of its append.
    for (const chain of chains.values())
      for (const [p, n] of chain.entries()) {
        if (!phantoms.has(n.workflowId) || p + 1 >= chain.length) continue;
        const next = chain[p + 1]!;
        if (phantoms.has(next.workflowId)) continue;
        const first = Math.min(
          ...copies.filter((c) => c.eventId === positionOf.get(next.workflowId.slice(13))).map((c) => c.acceptedAt),
        );
        expect(first - next.createdAtMs, `${next.workflowId} behind the phantom ${n.workflowId}`).toBeLessThan(60_000);
      }
  }, 600_000);
});
