import { z } from 'zod';
import { type OrderEvent, truncateErrorDesc } from '../domain.js';
import { MalformedChangeEvent } from './errors.js';

/** Debezium MariaDB/MySQL connectors write BIGINT columns as JSON numbers; ids travel as strings. */
const id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform(String);

const orderEventRow = z.object({
  id,
  order_id: id,
  customer_id: id,
  flow_id: z.string(),
  event_type: z.string(),
  status: z.enum(['success', 'failure']),
  source: z.string(),
  execution_ms: z.number().int().nonnegative().nullable(),
  error_code: z.string().nullable(),
  error_desc: z.string().nullable(),
  /** DATETIME(6) arrives as microseconds since the epoch (Debezium's adaptive time precision). */
  occurred_at: z.number().int(),
});

const changeEnvelope = z.object({
  op: z.enum(['c', 'u', 'd', 'r', 't']),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
  source: z
    .object({ table: z.string(), file: z.string().optional(), pos: z.number().optional(), row: z.number().optional() })
    .loose(),
});

export type ChangeDecision =
  | { kind: 'notify'; event: OrderEvent }
  | { kind: 'skip'; reason: 'tombstone' | 'snapshot' | 'delete' | 'truncate' | 'status-unchanged' };

/**
 * Decides what one Debezium change event means for Orderly: inserts notify, updates notify only when the
 * status changed, snapshot reads, deletes and tombstones are skipped.
 */
export function interpretChangeEvent(value: Buffer | null): ChangeDecision {
  if (value === null || value.length === 0) return { kind: 'skip', reason: 'tombstone' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    throw new MalformedChangeEvent('value is not JSON');
  }
  const envelope = changeEnvelope.safeParse(json);
  if (!envelope.success) throw new MalformedChangeEvent(`not a Debezium change event: ${describe(envelope.error)}`);
  const { op, before, after, source } = envelope.data;
  switch (op) {
    case 'r':
      return { kind: 'skip', reason: 'snapshot' };
    case 'd':
      return { kind: 'skip', reason: 'delete' };
    case 't':
      return { kind: 'skip', reason: 'truncate' };
    case 'c':
      return { kind: 'notify', event: toOrderEvent(after) };
    case 'u': {
      const event = toOrderEvent(after);
      const previousStatus = orderEventRow.shape.status.safeParse((before as { status?: unknown } | null)?.status);
      if (previousStatus.success && previousStatus.data === event.status)
        return { kind: 'skip', reason: 'status-unchanged' };
      // The same row can change status more than once: its binlog position tells the changes apart.
      if (source.file === undefined || source.pos === undefined)
        throw new MalformedChangeEvent('update without a binlog position in source');
      return {
        kind: 'notify',
        event: { ...event, notificationId: `${event.eventId}@${source.file}:${source.pos}:${source.row ?? 0}` },
      };
    }
  }
}

function toOrderEvent(row: unknown): OrderEvent {
  const parsed = orderEventRow.safeParse(row);
  if (!parsed.success) throw new MalformedChangeEvent(`order_events row is invalid: ${describe(parsed.error)}`);
  const r = parsed.data;
  return {
    eventId: r.id,
    notificationId: r.id,
    orderId: r.order_id,
    customerId: r.customer_id,
    flowId: r.flow_id,
    eventType: r.event_type,
    status: r.status,
    source: r.source,
    executionMs: r.execution_ms,
    errorCode: r.error_code,
    errorDesc: truncateErrorDesc(r.error_desc),
    occurredAt: new Date(Math.floor(r.occurred_at / 1000)).toISOString(),
  };
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`).join('; ');
}
