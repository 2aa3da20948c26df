/**
 * What the demo prints at its end: one line per order event, from the deliveries ledger, saying who got it and who
 * did not and why. Read-only; run on its own (`tsx scripts/demo-summary.ts`) it prints the summary of the last
 * demo's events again, without starting or stopping anything.
 */
import { pathToFileURL } from 'node:url';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/db/pool.js';

/** One row of the deliveries ledger with its event: one recipient of one event on one channel. */
export interface DeliveryRow {
  eventId: string;
  orderId: string;
  eventType: string;
  status: string;
  errorCode: string | null;
  username: string;
  channel: string;
  state: string;
  reason: string | null;
}

/** The deliveries of these events; `state` 'pending' until each is settled. */
export async function readDeliveries(pool: Pool, eventIds: string[]): Promise<DeliveryRow[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT d.event_id, e.order_id, e.event_type, e.status, e.error_code, u.username, d.channel, d.state, d.reason
       FROM deliveries d JOIN order_events e ON e.id = d.event_id JOIN users u ON u.id = d.user_id
      WHERE d.event_id IN (?) ORDER BY e.order_id, d.event_id, u.username`,
    [eventIds],
  );
  return rows.map((r) => ({
    eventId: String(r.event_id),
    orderId: String(r.order_id),
    eventType: String(r.event_type),
    status: String(r.status),
    errorCode: r.error_code === null ? null : String(r.error_code),
    username: String(r.username),
    channel: String(r.channel),
    state: String(r.state),
    reason: r.reason === null ? null : String(r.reason),
  }));
}

/** 'Grace (not subscribed to success events), Linus (muted)'; names sharing a reason share it: 'Grace, Linus (muted)'. */
function withReasons(rows: DeliveryRow[]): string {
  const byReason = new Map<string, string[]>();
  for (const row of rows) {
    const reason = row.reason ?? 'no reason recorded';
    byReason.set(reason, [...(byReason.get(reason) ?? []), row.username]);
  }
  return [...byReason].map(([reason, names]) => `${names.join(', ')} (${reason})`).join(', ');
}

const outcomes: [state: string, label: string][] = [
  ['suppressed', 'not to'],
  ['dead_lettered', 'failed for'],
  ['cancelled', 'cancelled for'],
  ['pending', 'still pending for'],
];

/** One line per event, in order then event order, columns aligned; then a line of totals. */
export function summaryLines(rows: DeliveryRow[]): string[] {
  const events = new Map<string, DeliveryRow[]>();
  for (const row of rows) events.set(row.eventId, [...(events.get(row.eventId) ?? []), row]);
  const columns = [...events].map(([eventId, deliveries]) => {
    const { orderId, eventType, status, errorCode } = deliveries[0]!;
    const delivered = deliveries.filter((d) => d.state === 'delivered').map((d) => d.username);
    const outcome = [
      delivered.length > 0 ? `delivered to ${delivered.join(', ')}` : 'delivered to nobody',
      ...outcomes.flatMap(([state, label]) => {
        const these = deliveries.filter((d) => d.state === state);
        return these.length > 0 ? [`${label} ${withReasons(these)}`] : [];
      }),
    ].join('; ');
    return [`order ${orderId}`, `event ${eventId}`, eventType, errorCode ? `${status} ${errorCode}` : status, outcome];
  });
  const widths = columns[0]?.map((_, i) => Math.max(...columns.map((c) => c[i]!.length))) ?? [];
  const lines = columns.map(
    (c) => `  ${c.map((cell, i) => (i < c.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ')}`,
  );
  const delivered = rows.filter((r) => r.state === 'delivered').length;
  const suppressed = rows.filter((r) => r.state === 'suppressed').length;
  const other = rows.length - delivered - suppressed;
  lines.push(
    `${events.size} events: ${delivered} emails delivered, ${suppressed} held back by preference` +
      (other > 0 ? `, ${other} not delivered (see above)` : '') +
      '.',
  );
  return lines;
}

/** The events of the last demo run: those of the newest sample customer. */
async function lastDemoEvents(pool: Pool): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT e.id FROM order_events e
      WHERE e.customer_id = (SELECT MAX(id) FROM customers WHERE name = 'Acme Robotics') ORDER BY e.id`,
  );
  return rows.map((r) => String(r.id));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pool = createPool(loadConfig());
  try {
    const eventIds = await lastDemoEvents(pool);
    if (eventIds.length === 0) console.log('No demo events yet: `npm run demo` writes them.');
    else for (const line of summaryLines(await readDeliveries(pool, eventIds))) console.log(line);
  } finally {
    await pool.end();
  }
}
