import { describe, expect, it } from 'vitest';
import {
  type ReceivedCopy,
  type RunEvidence,
  type WrittenEvent,
  inFlightAt,
  judge,
  percentile,
} from '../../bench/verdict.js';

/** Two orders, two events each, committed in id order. */
const events: WrittenEvent[] = [
  { eventId: '1', orderId: 'a', occurredAtMs: 1_000 },
  { eventId: '2', orderId: 'a', occurredAtMs: 1_010 },
  { eventId: '3', orderId: 'b', occurredAtMs: 1_020 },
  { eventId: '4', orderId: 'b', occurredAtMs: 1_030 },
];

const copy = (eventId: string, startedAt: number, acceptedAt = startedAt + 20): ReceivedCopy => ({
  channel: 'email',
  eventId,
  startedAt,
  acceptedAt,
});

/** A clean run: each event sent once, each order's second send started well after its first was accepted. */
const clean = (): RunEvidence => ({
  written: events.length,
  events,
  copies: [copy('1', 1_100), copy('3', 1_110), copy('2', 1_200), copy('4', 1_210)],
  ledger: events.map((e) => ({ eventId: e.eventId, channel: 'email', state: 'delivered' })),
  deadLettered: new Set(),
});

describe('the verdict', () => {
  it('passes a clean run and measures latency from the commit to the first acceptance', () => {
    const verdict = judge(clean());
    expect(verdict).toMatchObject({ passed: true, expected: 4, delivered: 4, lost: 0, orderViolations: 0 });
    expect(verdict.failures).toEqual([]);
    expect(verdict.p50Ms).toBe(120);
    expect(verdict.maxMs).toBe(210);
  });

  it('fails a re-send of event 1 that arrives after event 2 of the same order', () => {
    const evidence = clean();
    evidence.copies.push(copy('1', 1_300));
    const verdict = judge(evidence);
    expect(verdict.orderViolations).toBe(1);
    expect(verdict.unexpectedDuplicates).toBe(1);
    expect(verdict.passed).toBe(false);
  });

  it('fails a reversal within one millisecond: event 2 sent before event 1 was accepted', () => {
    const evidence = clean();
    evidence.copies = [copy('2', 1_100, 1_150), copy('1', 1_140, 1_150), copy('3', 1_110), copy('4', 1_210)];
    const verdict = judge(evidence);
    expect(verdict.orderViolations).toBe(1);
    expect(verdict.passed).toBe(false);
  });

  it('fails two sends of one order that overlap, even when they are accepted in order', () => {
    const evidence = clean();
    evidence.copies = [copy('1', 1_100, 1_180), copy('2', 1_150, 1_190), copy('3', 1_110), copy('4', 1_210)];
    const verdict = judge(evidence);
    expect(verdict.orderViolations).toBe(1);
    expect(verdict.passed).toBe(false);
  });

  it("judges a digest's events by their places in its one message: in commit order passes, reversed fails", () => {
    const listed = (eventId: string, position: number, message = 'm1'): ReceivedCopy => ({
      ...copy(eventId, 1_100, 1_150),
      inMessage: { id: message, position },
    });
    const evidence = clean();
    evidence.copies = [listed('1', 0), listed('2', 1), copy('3', 1_110), copy('4', 1_210)];
    expect(judge(evidence)).toMatchObject({ passed: true, orderViolations: 0 });
    evidence.copies = [listed('2', 0), listed('1', 1), copy('3', 1_110), copy('4', 1_210)];
    expect(judge(evidence)).toMatchObject({ passed: false, orderViolations: 1 });
    // Two digests of one order overlapping in time break it as two mails would.
    evidence.copies = [
      listed('1', 0, 'm1'),
      { ...listed('2', 0, 'm2'), startedAt: 1_120 },
      copy('3', 1_110),
      copy('4', 1_210),
    ];
    expect(judge(evidence).orderViolations).toBe(1);
  });

  it('fails a run that wrote no rows', () => {
    const verdict = judge({ written: 0, events: [], copies: [], ledger: [], deadLettered: new Set() });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures.join()).toMatch(/wrote no rows/);
  });

  it('fails a run whose rows in MySQL are not the rows the load wrote', () => {
    const verdict = judge({ ...clean(), written: 6 });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures.join()).toMatch(/wrote 6 rows but MySQL holds 4/);
  });

  it('fails 300 dead letters where none are allowed, and passes them where the scenario allows them', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({
      eventId: String(i + 1),
      orderId: `o${i}`,
      occurredAtMs: 1_000,
    }));
    const evidence: RunEvidence = {
      written: 300,
      events: many,
      copies: [],
      ledger: many.map((e) => ({ eventId: e.eventId, channel: 'email', state: 'dead_lettered' })),
      deadLettered: new Set(many.map((e) => e.eventId)),
    };
    const verdict = judge(evidence);
    expect(verdict).toMatchObject({ lost: 0, deadLettered: 300, passed: false });
    expect(judge(evidence, { deadLetters: 300 }).passed).toBe(true);
  });

  it('fails a delivery row left pending after its mail was accepted', () => {
    const evidence = clean();
    evidence.ledger[1]!.state = 'pending';
    const verdict = judge(evidence);
    expect(verdict.ledger).toEqual({ receivedNotRecorded: 1, recordedNotReceived: 0, pending: 1 });
    expect(verdict.passed).toBe(false);
  });

  it('fails a delivery the ledger records that no receiver got', () => {
    const evidence = clean();
    evidence.copies = evidence.copies.filter((c) => c.eventId !== '4');
    evidence.deadLettered = new Set(['4']);
    const verdict = judge(evidence, { deadLetters: 1 });
    expect(verdict.ledger.recordedNotReceived).toBe(1);
    expect(verdict.passed).toBe(false);
  });

  it('counts an event neither received nor dead-lettered as lost', () => {
    const evidence = clean();
    evidence.copies = evidence.copies.filter((c) => c.eventId !== '3');
    evidence.ledger = evidence.ledger.filter((r) => r.eventId !== '3');
    expect(judge(evidence)).toMatchObject({ lost: 1, delivered: 3, passed: false });
  });

  it('allows one more copy only of a send in flight at a crash', () => {
    const evidence = clean();
    evidence.copies.splice(1, 0, copy('1', 1_120, 1_140));
    expect(judge(evidence, { mayDuplicate: new Set(['1']) })).toMatchObject({
      duplicates: { email: 1 },
      unexpectedDuplicates: 0,
      passed: true,
    });
    expect(judge(evidence, { mayDuplicate: new Set(['3']) }).passed).toBe(false);
    evidence.copies.push(copy('1', 1_130, 1_145));
    expect(judge(evidence, { mayDuplicate: new Set(['1']) }).unexpectedDuplicates).toBe(1);
  });

  it('fails a copy that names no event of the run', () => {
    const evidence = clean();
    evidence.copies.push(copy('99', 1_300));
    expect(judge(evidence)).toMatchObject({ strays: 1, passed: false });
  });

  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99), percentile(values, 100)]).toEqual([
      50, 95, 99, 100,
    ]);
  });
});

describe('sends in flight at a crash', () => {
  it('are the copies started before the crash that the ledger had not recorded by then', () => {
    const copies = [copy('1', 900, 950), copy('2', 960, 990), copy('3', 970, 1_010), copy('4', 1_050)];
    const recordedAt = new Map<string, number | null>([
      ['1', 960], // recorded before the crash: its outcome was known
      ['2', 1_020], // accepted before the crash, recorded after it: unknown at the crash
      ['3', null], // never recorded
      ['4', 1_080], // started after the crash
    ]);
    expect([...inFlightAt(1_000, copies, recordedAt)].sort()).toEqual(['2', '3']);
  });
});
