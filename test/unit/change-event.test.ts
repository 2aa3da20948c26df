import { describe, expect, it } from 'vitest';
import { maxErrorDescChars } from '../../src/domain.js';
import { interpretChangeEvent } from '../../src/ingest/change-event.js';
import { MalformedChangeEvent } from '../../src/ingest/errors.js';

const row = {
  id: 7,
  order_id: 42,
  customer_id: 3,
  flow_id: 'F1063',
  event_type: 'order.placed',
  status: 'success',
  source: 'shop',
  execution_ms: 1234,
  error_code: null,
  error_desc: null,
  occurred_at: 1_795_235_937_224_449,
};
const envelope = (op: string, before: unknown, after: unknown) =>
  Buffer.from(
    JSON.stringify({ op, before, after, source: { table: 'order_events', file: 'binlog.000001', pos: 4 }, ts_ms: 1 }),
  );

describe('interpretChangeEvent', () => {
  it('notifies an insert, with ids as strings and occurred_at as ISO time', () => {
    expect(interpretChangeEvent(envelope('c', null, row))).toEqual({
      kind: 'notify',
      event: {
        eventId: '7',
        notificationId: '7',
        orderId: '42',
        customerId: '3',
        flowId: 'F1063',
        eventType: 'order.placed',
        status: 'success',
        source: 'shop',
        executionMs: 1234,
        errorCode: null,
        errorDesc: null,
        occurredAt: '2026-11-21T04:38:57.224Z',
      },
    });
  });

  it('notifies an update only when the status changed, as its own notification named by its binlog position', () => {
    const update = interpretChangeEvent(envelope('u', { ...row, status: 'failure' }, row));
    expect(update).toMatchObject({
      kind: 'notify',
      event: { eventId: '7', notificationId: '7@binlog.000001:4:0', status: 'success' },
    });
    expect(interpretChangeEvent(envelope('u', { ...row, source: 'old' }, row))).toEqual({
      kind: 'skip',
      reason: 'status-unchanged',
    });
  });

  it('skips snapshot reads, deletes, truncates and tombstones', () => {
    expect(interpretChangeEvent(envelope('r', null, row))).toEqual({ kind: 'skip', reason: 'snapshot' });
    expect(interpretChangeEvent(envelope('d', row, null))).toEqual({ kind: 'skip', reason: 'delete' });
    expect(interpretChangeEvent(envelope('t', null, null))).toEqual({ kind: 'skip', reason: 'truncate' });
    expect(interpretChangeEvent(null)).toEqual({ kind: 'skip', reason: 'tombstone' });
  });

  it('rejects what can never be processed, saying why', () => {
    expect(() => interpretChangeEvent(Buffer.from('{oops'))).toThrow(new MalformedChangeEvent('value is not JSON'));
    expect(() => interpretChangeEvent(Buffer.from('{"hello":"world"}'))).toThrow(/not a Debezium change event: op/);
    expect(() => interpretChangeEvent(envelope('c', null, { ...row, status: 'maybe' }))).toThrow(
      /order_events row is invalid: status/,
    );
    expect(() => interpretChangeEvent(envelope('c', null, { ...row, order_id: undefined }))).toThrow(/order_id/);
  });
});

describe('interpretChangeEvent with a huge error description', () => {
  it('keeps the first 16 KiB and says it was cut', () => {
    const decision = interpretChangeEvent(
      envelope('c', null, { ...row, status: 'failure', error_code: 'E1', error_desc: 'x'.repeat(5 * 1024 * 1024) }),
    );
    expect(decision.kind).toBe('notify');
    const { errorDesc } = (decision as { event: { errorDesc: string } }).event;
    expect(errorDesc.startsWith('x'.repeat(maxErrorDescChars))).toBe(true);
    expect(errorDesc).toMatch(
      new RegExp(`\\[\\.\\.\\. cut at ${maxErrorDescChars} characters, truncated by Orderly\\]$`),
    );
  });
});
