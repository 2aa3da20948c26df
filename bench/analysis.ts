/** An event the benchmark wrote, with MySQL's own commit-time stamp. */
export interface InsertedEvent {
  eventId: string;
  orderId: string;
  occurredAtMs: number;
}

/** A message the recording sink accepted, stamped by the sink. */
export interface AcceptedMail {
  eventId: string | null;
  acceptedAt: number;
}

export interface PhaseVerdict {
  expected: number;
  delivered: number;
  lost: number;
  duplicates: number;
  orderViolations: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  firstAcceptedAt: number;
  lastAcceptedAt: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Checks one phase against MySQL's rows: each event exactly once (one subscriber per event in the benchmark),
 * each order's events accepted in event-id order, and latency from occurred_at to the sink's acceptance.
 */
export function judge(inserted: InsertedEvent[], accepted: AcceptedMail[]): PhaseVerdict {
  const byEvent = new Map<string, AcceptedMail[]>();
  for (const mail of accepted) {
    if (mail.eventId === null) continue;
    byEvent.set(mail.eventId, [...(byEvent.get(mail.eventId) ?? []), mail]);
  }
  const latencies: number[] = [];
  let lost = 0;
  let duplicates = 0;
  const acceptedInOrder = new Map<string, { eventId: number; acceptedAt: number }[]>();
  for (const event of inserted) {
    const copies = byEvent.get(event.eventId);
    if (!copies) {
      lost++;
      continue;
    }
    duplicates += copies.length - 1;
    const first = Math.min(...copies.map((c) => c.acceptedAt));
    latencies.push(first - event.occurredAtMs);
    acceptedInOrder.set(event.orderId, [
      ...(acceptedInOrder.get(event.orderId) ?? []),
      { eventId: Number(event.eventId), acceptedAt: first },
    ]);
  }
  let orderViolations = 0;
  for (const mails of acceptedInOrder.values()) {
    // Sorted by acceptance (stable for equal stamps, which keep event order), event ids must ascend.
    const byTime = [...mails].sort((a, b) => a.acceptedAt - b.acceptedAt || a.eventId - b.eventId);
    for (let i = 1; i < byTime.length; i++) if (byTime[i]!.eventId < byTime[i - 1]!.eventId) orderViolations++;
  }
  latencies.sort((a, b) => a - b);
  const stamps = [...byEvent.values()].flat().map((m) => m.acceptedAt);
  return {
    expected: inserted.length,
    delivered: inserted.length - lost,
    lost,
    duplicates,
    orderViolations,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    firstAcceptedAt: stamps.length ? Math.min(...stamps) : Number.NaN,
    lastAcceptedAt: stamps.length ? Math.max(...stamps) : Number.NaN,
  };
}

/** Above this, from a row's commit to its message's acceptance, a delivery counts as held up by the fault. */
const heldUpMs = 5_000;

/** Seconds from `faultStarted` to the acceptance of the last message held up (0 when none was): time to recover. */
export function recoveredAfterS(events: InsertedEvent[], accepted: AcceptedMail[], faultStarted: number): number {
  const occurred = new Map(events.map((e) => [e.eventId, e.occurredAtMs]));
  const heldUp = accepted.filter((m) => {
    const at = m.eventId === null ? undefined : occurred.get(m.eventId);
    return at !== undefined && m.acceptedAt - at > heldUpMs;
  });
  const last = Math.max(faultStarted, ...heldUp.map((m) => m.acceptedAt));
  return Math.round((last - faultStarted) / 100) / 10;
}
