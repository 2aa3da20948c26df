import { describe, expect, it } from 'vitest';
import { recoveredAfterS } from '../../bench/analysis.js';

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
