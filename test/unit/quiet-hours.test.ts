import { describe, expect, it } from 'vitest';
import { type QuietHours, quietHoursProblem, quietUntil } from '../../src/quiet-hours.js';

const night: QuietHours = {
  timeZone: 'Europe/Paris',
  startsAt: '22:00',
  endsAt: '07:00',
  channels: ['sms', 'push'],
  failuresExempt: false,
};
const at = (iso: string) => Date.parse(iso);

describe('quiet hours', () => {
  it("holds an SMS at 23:00 in the user's zone until 07:00 there, across midnight", () => {
    // 23:00 in Paris in winter is 22:00 UTC; 07:00 there is 06:00 UTC the next day.
    expect(quietUntil(night, 'sms', 'success', at('2026-12-07T22:00:00Z'))).toBe(at('2026-12-08T06:00:00Z'));
    expect(quietUntil(night, 'push', 'success', at('2026-12-08T05:59:59.500Z'))).toBe(at('2026-12-08T06:00:00Z'));
  });

  it('lets through what is outside the window, on another channel, or an exempt failure', () => {
    expect(quietUntil(night, 'sms', 'success', at('2026-12-08T06:00:00Z'))).toBeUndefined();
    expect(quietUntil(night, 'sms', 'success', at('2026-12-07T20:59:59Z'))).toBeUndefined();
    expect(quietUntil(night, 'email', 'success', at('2026-12-07T22:00:00Z'))).toBeUndefined();
    expect(
      quietUntil({ ...night, failuresExempt: true }, 'sms', 'failure', at('2026-12-07T22:00:00Z')),
    ).toBeUndefined();
    expect(quietUntil(night, 'sms', 'failure', at('2026-12-07T22:00:00Z'))).toBe(at('2026-12-08T06:00:00Z'));
  });

  it('a window within one day', () => {
    const lunch = { ...night, startsAt: '12:00', endsAt: '13:30', timeZone: 'Asia/Kolkata' };
    // 12:15 in Kolkata (UTC+5:30) is 06:45 UTC; 13:30 there is 08:00 UTC.
    expect(quietUntil(lunch, 'sms', 'success', at('2026-12-07T06:45:00Z'))).toBe(at('2026-12-07T08:00:00Z'));
    expect(quietUntil(lunch, 'sms', 'success', at('2026-12-07T08:00:00Z'))).toBeUndefined();
  });

  it('ends at the local time after a clock change inside the window', () => {
    // Paris springs forward on 2026-03-29 at 02:00 (UTC+1 to UTC+2): 04:00 local is 02:00 UTC that morning.
    const early = { ...night, startsAt: '01:00', endsAt: '04:00' };
    expect(quietUntil(early, 'sms', 'success', at('2026-03-29T00:30:00Z'))).toBe(at('2026-03-29T02:00:00Z'));
    // It falls back on 2026-10-25 at 03:00 (UTC+2 to UTC+1): 04:00 local is 03:00 UTC.
    expect(quietUntil(early, 'sms', 'success', at('2026-10-24T23:30:00Z'))).toBe(at('2026-10-25T03:00:00Z'));
  });

  it('refuses an unknown zone, a malformed time and an empty window', () => {
    expect(quietHoursProblem({ ...night, timeZone: 'Mars/Olympus' })).toMatch(/unknown time zone/);
    expect(quietHoursProblem({ ...night, startsAt: '7:00' })).toMatch(/not a time of day/);
    expect(quietHoursProblem({ ...night, endsAt: '22:00' })).toMatch(/same time/);
    expect(quietHoursProblem(night)).toBeUndefined();
  });
});
