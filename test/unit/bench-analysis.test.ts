import { describe, expect, it } from 'vitest';
import { judge, percentile, recoveredAfterS } from '../../bench/analysis.js';

describe('benchmark judge', () => {
  const inserted = [
    { eventId: '1', orderId: 'a', occurredAtMs: 1000 },
    { eventId: '2', orderId: 'a', occurredAtMs: 1010 },
    { eventId: '3', orderId: 'b', occurredAtMs: 1020 },
    { eventId: '4', orderId: 'b', occurredAtMs: 1030 },
  ];

  it('counts lost, duplicated and reordered events against the rows', () => {
    const verdict = judge(inserted, [
      { eventId: '2', acceptedAt: 1100 },
      { eventId: '1', acceptedAt: 1200 },
      { eventId: '3', acceptedAt: 1300 },
      { eventId: '3', acceptedAt: 1400 },
      { eventId: null, acceptedAt: 1500 },
    ]);
    expect(verdict).toMatchObject({ expected: 4, delivered: 3, lost: 1, duplicates: 1, orderViolations: 1 });
  });

  it('measures latency from occurred_at to the first acceptance', () => {
    const verdict = judge(
      inserted,
      inserted.map((e) => ({ eventId: e.eventId, acceptedAt: e.occurredAtMs + Number(e.eventId) * 100 })),
    );
    expect(verdict).toMatchObject({ lost: 0, duplicates: 0, orderViolations: 0, p50Ms: 200, p99Ms: 400, maxMs: 400 });
  });

  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99), percentile(values, 100)]).toEqual([
      50, 95, 99, 100,
    ]);
  });
});

describe('time to recover from a fault', () => {
  const events = [
    { eventId: '1', orderId: 'a', occurredAtMs: 10_000 },
    { eventId: '2', orderId: 'a', occurredAtMs: 11_000 },
    { eventId: '3', orderId: 'b', occurredAtMs: 12_000 },
  ];

  it('runs from the fault to the last delivery held up more than 5 s', () => {
    const accepted = [
      { eventId: '1', acceptedAt: 10_500 },
      { eventId: '2', acceptedAt: 19_000 },
      { eventId: '3', acceptedAt: 18_000 },
    ];
    // Events 2 (8 s) and 3 (6 s) were held up; 2 was accepted last.
    expect(recoveredAfterS(events, accepted, 10_800)).toBe(8.2);
  });

  it('is 0 when nothing was held up', () => {
    const accepted = events.map((e) => ({ eventId: e.eventId, acceptedAt: e.occurredAtMs + 4_000 }));
    expect(recoveredAfterS(events, accepted, 10_000)).toBe(0);
  });
});
