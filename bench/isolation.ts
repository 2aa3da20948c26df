/**
 * `npm run bench:isolation`: does one customer's frozen webhook endpoint slow the others down?
 *
 * Customer A and customer B each have one webhook endpoint (default policy) and their own orders. Events
 * for both are inserted into MySQL at fixed rates, twice in one run:
 *   1. B healthy  both endpoints answer 204 at once
 *   2. B hanging  B's endpoint accepts connections and never answers
 * For A, each phase reports delivered/s and p50/p95/p99 latency from occurred_at to the endpoint receiving
 * the POST, checked against MySQL (lost, duplicates, order violations). After phase 2 B's endpoint recovers
 * and B's backlog must arrive complete and in order. Every phase is judged by the one verdict (bench/verdict.ts).
 * The run fails (exit code 1) unless A's p99 with B hanging is at most 1.2 times its p99 with B healthy, and B's
 * endpoint was really hit (and left hanging) during the second phase. Prints both phases and their ratio; writes
 * bench/results/isolation-<timestamp>.json.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import type { Pool } from 'mysql2/promise';
import { stackUp } from '../stack/lifecycle.js';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { type OrderlyProcess, startPipeline, stopAll } from '../scripts/orderly-processes.js';
import { sample } from '../scripts/sample-data.js';
import { type WebhookReceiver, startWebhookReceiver } from '../test/support/webhook-receiver.js';
import { ledgerEvidence, webhookCopies } from './evidence.js';
import { type ReceivedCopy, type Verdict, judge, totalDuplicates } from './verdict.js';
import { type LoadFixture, eventsSince, insertAtRate, maxEventId } from './load.js';
import { measuredOn, writeResult } from './results-file.js';

const options = new Command('bench:isolation')
  .option('--rate-a <n>', "customer A's events/s", '10')
  .option('--rate-b <n>', "customer B's events/s", '2')
  .option('--duration <seconds>', 'seconds per phase', '60')
  .option('--orders <n>', 'orders per customer', '20')
  .parse()
  .opts<{ rateA: string; rateB: string; duration: string; orders: string }>();
const rateA = Number(options.rateA);
const rateB = Number(options.rateB);
const durationS = Number(options.duration);
const ordersPerCustomer = Number(options.orders);

interface Customer {
  name: string;
  customerId: string;
  fixture: LoadFixture;
  receiver: WebhookReceiver;
}

async function webhookCustomer(pool: Pool, name: string): Promise<Customer> {
  const receiver = await startWebhookReceiver();
  const customerId = await sample.customer(pool, `Isolation ${name} ${randomUUID().slice(0, 8)}`);
  const user = await sample.user(pool, customerId, `integration-${name}`, null);
  const endpoint = await sample.webhookEndpoint(pool, customerId, receiver.url);
  await sample.subscription(pool, user.id, { endpointId: endpoint.id });
  const orders = [];
  for (let i = 0; i < ordersPerCustomer; i++)
    orders.push({ orderId: await sample.order(pool, customerId), customerId });
  return { name, customerId, fixture: { orders, endpointIds: [endpoint.id] }, receiver };
}

/** What the customer's endpoint accepted (answered 2xx), as the verdict reads it. */
const acceptedBy = (customer: Customer): ReceivedCopy[] => webhookCopies(customer.receiver.received);

/** The verdict on a customer's events written after `afterId` and the copies its endpoint accepted since `before`. */
async function judgeCustomer(pool: Pool, customer: Customer, afterId: string, written: number, before: number) {
  const events = await eventsOf(pool, customer, afterId);
  const { ledger, deadLettered } = await ledgerEvidence(
    pool,
    events.map((e) => e.eventId),
  );
  return judge({ written, events, copies: acceptedBy(customer).slice(before), ledger, deadLettered });
}

/** The customer's events written after `afterId`. */
async function eventsOf(pool: Pool, customer: Customer, afterId: string) {
  const orders = new Set(customer.fixture.orders.map((o) => o.orderId));
  return (await eventsSince(pool, afterId)).filter((e) => orders.has(e.orderId));
}

/** Waits until the endpoint has accepted every event written after `afterId` (or the timeout: judged as lost). */
async function waitForDeliveries(
  pool: Pool,
  customer: Customer,
  afterId: string,
  acceptedBefore: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const expected = (await eventsOf(pool, customer, afterId)).length;
  while (
    new Set(
      acceptedBy(customer)
        .slice(acceptedBefore)
        .map((a) => a.eventId),
    ).size < expected &&
    Date.now() < deadline
  )
    await sleep(500);
}

interface PhaseResult extends Verdict {
  deliveredPerS: number;
}

async function phase(
  pool: Pool,
  a: Customer,
  b: Customer,
  bHanging: boolean,
): Promise<{ a: PhaseResult; afterId: string; bWritten: number }> {
  const afterId = await maxEventId(pool);
  const acceptedBefore = acceptedBy(a).length;
  const bAcceptedBefore = acceptedBy(b).length;
  b.receiver.reply = bHanging ? () => 'hang' : () => ({ status: 204 });
  const started = Date.now();
  const [aWritten, bWritten] = await Promise.all([
    insertAtRate(pool, a.fixture, rateA, durationS),
    insertAtRate(pool, b.fixture, rateB, durationS),
  ]);
  await waitForDeliveries(pool, a, afterId, acceptedBefore, 300_000);
  // A healthy B is drained too, so that the hanging phase starts with nothing of B's in flight.
  if (!bHanging) await waitForDeliveries(pool, b, afterId, bAcceptedBefore, 300_000);
  await sleep(2_000); // late duplicates still count
  const verdict = await judgeCustomer(pool, a, afterId, aWritten, acceptedBefore);
  return {
    a: { ...verdict, deliveredPerS: round(verdict.delivered / ((verdict.lastAcceptedAt - started) / 1000)) },
    afterId,
    bWritten,
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  console.log('bench:isolation: bringing up the local stack...');
  await stackUp();
  const pool = createPool(config);
  let processes: OrderlyProcess[] = [];
  const a = await webhookCustomer(pool, 'A');
  const b = await webhookCustomer(pool, 'B');
  try {
    processes = await startPipeline({}, { logPrefix: 'bench-' });
    console.log(`bench:isolation: warm-up (10 s)...`);
    await Promise.all([insertAtRate(pool, a.fixture, rateA, 10), insertAtRate(pool, b.fixture, rateB, 10)]);
    await sleep(10_000);

    console.log(`bench:isolation: B healthy, A at ${rateA}/s and B at ${rateB}/s for ${durationS} s...`);
    const healthy = await phase(pool, a, b, false);
    console.log(
      `  A: ${healthy.a.deliveredPerS}/s, p50 ${Math.round(healthy.a.p50Ms)} ms, p99 ${Math.round(healthy.a.p99Ms)} ms`,
    );

    console.log(`bench:isolation: B hanging, same rates for ${durationS} s...`);
    const bAcceptedBefore = acceptedBy(b).length;
    const bRequestsBefore = b.receiver.received.length;
    const hanging = await phase(pool, a, b, true);
    // The point of the phase: B's endpoint took requests and left them hanging.
    const bHungRequests = b.receiver.received.slice(bRequestsBefore).filter((r) => r.answered === 'hung').length;
    console.log(
      `  A: ${hanging.a.deliveredPerS}/s, p50 ${Math.round(hanging.a.p50Ms)} ms, p99 ${Math.round(hanging.a.p99Ms)} ms`,
    );

    console.log("bench:isolation: B recovers; waiting for B's backlog...");
    b.receiver.reply = () => ({ status: 204 });
    const recoveredAt = Date.now();
    await waitForDeliveries(pool, b, hanging.afterId, bAcceptedBefore, 600_000);
    await sleep(2_000);
    const bVerdict = await judgeCustomer(pool, b, hanging.afterId, hanging.bWritten, bAcceptedBefore);
    const bDrainS = round((bVerdict.lastAcceptedAt - recoveredAt) / 1000);

    const p99Ratio = round(hanging.a.p99Ms / healthy.a.p99Ms, 2);
    const throughputRatio = round(hanging.a.deliveredPerS / healthy.a.deliveredPerS, 2);
    const goal = { p99_ratio_at_most: 1.2, throughput_ratio_at_least: 1.0 };
    const failures = [
      ...healthy.a.failures.map((f) => `A with B healthy: ${f}`),
      ...hanging.a.failures.map((f) => `A with B hanging: ${f}`),
      ...bVerdict.failures.map((f) => `B after recovery: ${f}`),
      ...(p99Ratio > goal.p99_ratio_at_most ? [`A's p99 ratio ${p99Ratio} is over ${goal.p99_ratio_at_most}`] : []),
      ...(bHungRequests === 0 ? ["B's endpoint was never hit while it hung: the phase measured nothing"] : []),
    ];
    const failed = failures.length > 0;
    const result = {
      when: new Date().toISOString(),
      ...measuredOn(),
      settings: {
        rate_a: rateA,
        rate_b: rateB,
        duration_s: durationS,
        orders_per_customer: ordersPerCustomer,
        webhook_response_timeout_ms: config.WEBHOOK_RESPONSE_TIMEOUT_MS,
        webhook_max_in_flight: config.WEBHOOK_MAX_IN_FLIGHT,
        circuit_failure_threshold: config.WEBHOOK_CIRCUIT_FAILURE_THRESHOLD,
        circuit_cooldown_s: config.WEBHOOK_CIRCUIT_COOLDOWN_S,
      },
      a_with_b_healthy: toJson(healthy.a),
      a_with_b_hanging: toJson(hanging.a),
      p99_ratio: p99Ratio,
      throughput_ratio: throughputRatio,
      b_after_recovery: {
        expected: bVerdict.expected,
        delivered: bVerdict.delivered,
        lost: bVerdict.lost,
        duplicates: bVerdict.duplicates,
        order_violations: bVerdict.orderViolations,
        drain_s: bDrainS,
      },
      b_requests_left_hanging: bHungRequests,
      goal,
      failures,
      failed,
    };

    console.log('\nOrderly isolation benchmark: customer A while customer B is healthy, then hanging');
    console.table({
      'B healthy': row(healthy.a),
      'B hanging': row(hanging.a),
    });
    console.log(
      `A's p99 ratio (hanging / healthy): ${p99Ratio} (goal <= 1.2); A's throughput ratio: ${throughputRatio} (goal >= 1.0 within noise)`,
    );
    console.log(
      `B after recovery: ${bVerdict.delivered}/${bVerdict.expected} delivered in ${bDrainS} s, lost ${bVerdict.lost}, dup ${totalDuplicates(bVerdict)}, order ${bVerdict.orderViolations}; B's endpoint left ${bHungRequests} requests hanging`,
    );
    console.log(failed ? `FAILED: ${failures.join('; ')}` : 'ok');

    const file = writeResult('isolation-', result);
    console.log(`results: ${file}`);
    if (failed) process.exitCode = 1;
  } finally {
    await stopAll(processes);
    await Promise.all([a.receiver.close(), b.receiver.close()]);
    await pool.end();
  }
}

const row = (v: PhaseResult) => ({
  'delivered/s': v.deliveredPerS,
  'p50 ms': Math.round(v.p50Ms),
  'p95 ms': Math.round(v.p95Ms),
  'p99 ms': Math.round(v.p99Ms),
  expected: v.expected,
  lost: v.lost,
  dup: totalDuplicates(v),
  'order viol.': v.orderViolations,
});

const toJson = (v: PhaseResult) => ({
  expected: v.expected,
  delivered: v.delivered,
  delivered_per_s: v.deliveredPerS,
  p50_ms: round(v.p50Ms),
  p95_ms: round(v.p95Ms),
  p99_ms: round(v.p99Ms),
  max_ms: round(v.maxMs),
  lost: v.lost,
  duplicates: v.duplicates,
  order_violations: v.orderViolations,
});

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

main().catch((error: unknown) => {
  console.error(`bench:isolation: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
