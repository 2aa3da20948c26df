/**
 * Quiet hours: a user's daily window, in their own time zone, in which notifications on some channels wait until it
 * ends. Pure functions of the rule and the time, so that unit tests pin every case (midnight, DST) down.
 */
import type { Channel } from './domain.js';

export interface QuietHours {
  /** An IANA time zone, e.g. `Europe/Paris`. */
  timeZone: string;
  /** Local `HH:MM`, inclusive. */
  startsAt: string;
  /** Local `HH:MM`, exclusive; before `startsAt`, the window spans midnight. */
  endsAt: string;
  channels: Channel[];
  /** Failure notifications go out even in the window. */
  failuresExempt: boolean;
}

/** What a window holds when nobody names its channels: texts and push, the ones that wake people. */
export const defaultQuietChannels: Channel[] = ['sms', 'push'];

/** A `quiet_hours` row as a rule (`channels` is MySQL's SET: comma-separated). */
export function quietHoursOfRow(row: Record<string, unknown>): QuietHours & { userId: string } {
  return {
    userId: String(row.user_id),
    timeZone: String(row.time_zone),
    startsAt: String(row.starts_at),
    endsAt: String(row.ends_at),
    channels: String(row.channels).split(',').filter(Boolean) as Channel[],
    failuresExempt: Boolean(row.failures_exempt),
  };
}

const minutesPerDay = 24 * 60;
const hhmm = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Why a rule cannot be stored, or undefined when it can. */
export function quietHoursProblem(rule: Pick<QuietHours, 'timeZone' | 'startsAt' | 'endsAt'>): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone: rule.timeZone });
  } catch {
    return `unknown time zone "${rule.timeZone}" (an IANA name such as Europe/Paris)`;
  }
  for (const time of [rule.startsAt, rule.endsAt])
    if (!hhmm.test(time)) return `"${time}" is not a time of day as HH:MM (00:00 to 23:59)`;
  if (rule.startsAt === rule.endsAt) return 'the window starts and ends at the same time';
  return undefined;
}

/**
 * When the window that `now` (epoch ms) falls in ends, as epoch ms: undefined when `now` is outside it, or the rule
 * does not cover this channel, or the event is a failure and failures are exempt.
 */
export function quietUntil(
  rule: QuietHours,
  channel: Channel,
  status: 'success' | 'failure',
  now: number,
): number | undefined {
  if (!rule.channels.includes(channel) || (status === 'failure' && rule.failuresExempt)) return undefined;
  const start = minuteOfDay(rule.startsAt);
  const end = minuteOfDay(rule.endsAt);
  const local = localTime(rule.timeZone, now);
  const inside =
    start < end ? local.minute >= start && local.minute < end : local.minute >= start || local.minute < end;
  if (!inside) return undefined;
  const naive = now + (((end - local.minute + minutesPerDay) % minutesPerDay) * 60 - local.second) * 1000 - local.ms;
  // A clock change inside the window moves its end by the change: read the local time there, and correct once.
  const drift = (localTime(rule.timeZone, naive).minute - end + minutesPerDay) % minutesPerDay;
  return naive - (drift > minutesPerDay / 2 ? drift - minutesPerDay : drift) * 60_000;
}

function minuteOfDay(time: string): number {
  const [hours, minutes] = time.split(':').map(Number);
  return hours! * 60 + minutes!;
}

/** The local time of day in `timeZone` at `at`: minute of the day, second, millisecond. */
function localTime(timeZone: string, at: number): { minute: number; second: number; ms: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { minute: part('hour') * 60 + part('minute'), second: part('second'), ms: at % 1000 };
}
