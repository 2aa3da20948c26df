import type { ReceivedCopy, WrittenEvent } from './verdict.js';

/** Above this, from a row's commit to its message's acceptance, a delivery counts as held up by the fault. */
const heldUpMs = 5_000;

/** Seconds from `faultStarted` to the acceptance of the last message held up (0 when none was): time to recover. */
export function recoveredAfterS(
  events: WrittenEvent[],
  copies: Pick<ReceivedCopy, 'eventId' | 'acceptedAt'>[],
  faultStarted: number,
): number {
  const occurred = new Map(events.map((e) => [e.eventId, e.occurredAtMs]));
  const heldUp = copies.filter((m) => {
    const at = m.eventId === null ? undefined : occurred.get(m.eventId);
    return at !== undefined && m.acceptedAt - at > heldUpMs;
  });
  const last = Math.max(faultStarted, ...heldUp.map((m) => m.acceptedAt));
  return Math.round((last - faultStarted) / 100) / 10;
}
