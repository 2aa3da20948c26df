/**
 * `npm run demo`: brings up the local stack, starts Orderly's three processes, writes sample customers,
 * users, subscriptions, orders and events (some failures) into MySQL, waits until every notification is
 * settled, prints what happened and where to look, then keeps the service running until Ctrl-C.
 * `npm run demo -- --once` stops after the summary.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'mysql2/promise';
import { stackUp } from '../stack/lifecycle.js';
import { local } from '../stack/local-settings.js';
import { logDir } from '../stack/paths.js';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { type DeliveryRow, readDeliveries, summaryLines } from './demo-summary.js';
import { type OrderlyProcess, startPipeline, stopAll } from './orderly-processes.js';
import { type EventSpec, sample } from './sample-data.js';

const once = process.argv.includes('--once');

async function writeSampleData(pool: Pool): Promise<{ eventIds: string[]; orderIds: string[] }> {
  const customerId = await sample.customer(pool, 'Acme Robotics');
  const ada = await sample.user(pool, customerId, 'Ada', 'ada@acme-robotics.example');
  const grace = await sample.user(pool, customerId, 'Grace', 'grace@acme-robotics.example');
  const linus = await sample.user(pool, customerId, 'Linus', 'linus@acme-robotics.example');
  await sample.subscription(pool, ada.id); // every event of every flow
  await sample.subscription(pool, grace.id, { onSuccess: false }); // failures only
  await sample.subscription(pool, linus.id, { muted: true }); // on holiday

  const orderIds = [
    await sample.order(pool, customerId),
    await sample.order(pool, customerId),
    await sample.order(pool, customerId),
  ];
  const story: Omit<EventSpec, 'orderId' | 'customerId'>[] = [
    { status: 'success', eventType: 'order.placed', source: 'web-shop', executionMs: 420 },
    {
      status: 'failure',
      eventType: 'payment.captured',
      source: 'payment-gateway',
      errorCode: 'E402',
      errorDesc: 'Card declined by issuer',
    },
    { status: 'success', eventType: 'payment.captured', source: 'payment-gateway', executionMs: 1830 },
    { status: 'success', eventType: 'order.shipped', source: 'warehouse', executionMs: 5120 },
  ];
  const eventIds = [];
  for (const step of story) {
    for (const orderId of orderIds)
      eventIds.push(await sample.event(pool, { ...step, orderId, customerId, flowId: 'F1063' }));
  }
  return { eventIds, orderIds };
}

async function waitUntilSettled(pool: Pool, eventIds: string[]): Promise<DeliveryRow[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const rows = await readDeliveries(pool, eventIds);
    const settled = new Set(rows.filter((r) => r.state !== 'pending').map((r) => r.eventId));
    if (eventIds.every((id) => settled.has(id)) && rows.every((r) => r.state !== 'pending')) return rows;
    if (Date.now() > deadline)
      throw new Error(`notifications did not settle within 2 minutes; see the logs in ${logDir}`);
    await sleep(250);
  }
}

async function main(): Promise<void> {
  console.log('Bringing up the local stack (the first run downloads and builds; later runs take seconds)...');
  await stackUp((line) => console.log(`  ${line}`));
  const config = loadConfig();
  const pool = createPool(config);
  let processes: OrderlyProcess[] = [];
  try {
    console.log('Starting Orderly: workflow worker, email worker, ingest...');
    processes = await startPipeline({}, { logPrefix: 'demo-' });
    console.log('Writing sample data into MySQL: 1 customer, 3 users, 3 orders, 12 order events (3 failures)...');
    const { eventIds, orderIds } = await writeSampleData(pool);
    const rows = await waitUntilSettled(pool, eventIds);

    console.log('\nWhat happened, one line per order event (from the deliveries table):');
    for (const line of summaryLines(rows)) console.log(line);
    console.log('');
    console.log('Where to look:');
    console.log(`  Mail (SMTP sink):   http://127.0.0.1:${local.mailUiPort}`);
    console.log(`  Temporal Web UI:    http://127.0.0.1:${local.temporalUiPort}/namespaces/default/workflows`);
    console.log(
      `  One order's story:  http://127.0.0.1:${local.temporalUiPort}/namespaces/default/workflows?query=${encodeURIComponent(`OrderId="${orderIds[0]}"`)}`,
    );
    console.log(
      `  MySQL:              mariadb -h127.0.0.1 -u${local.mysqlUser} -p${local.mysqlPassword} ${local.mysqlDatabase} -e 'SELECT * FROM deliveries'`,
    );
    console.log(`  This summary again: npx tsx scripts/demo-summary.ts`);
    console.log(`  Logs:               ${logDir}`);
    if (!once) {
      console.log(
        '\nOrderly keeps running: INSERT more rows into order_events and watch them arrive. Ctrl-C stops it (the stack stays up; `npm run stack:down` stops it).',
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    await stopAll(processes);
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
