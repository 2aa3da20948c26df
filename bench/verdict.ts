/**
 * The one verdict on a run of the pipeline, used by the fault suite, the benchmarks and the ordering tests: the
 * rows in MySQL against every copy every receiver got. Built on Jepsen's way of judging a history: every copy
 * counts (not only the first), a send whose outcome was unknown at a crash may have gone out twice and no other
 * may, and a run that wrote nothing is not a passing run.
 */

export type Channel = 'email' | 'webhook' | 'sms' | 'push';

/** A row the load wrote into `order_events`, with MySQL's commit-time stamp. */
export interface WrittenEvent {
  eventId: string;
  orderId: string;
  occurredAtMs: number;
}

/**
 * One copy a receiver accepted, stamped by the receiver's clock: when its send started (SMTP `MAIL FROM`, an HTTP
 * request's arrival) and when the receiver accepted it (250 after DATA, a 2xx answer). `eventId` is null for a copy
 * that names no event.
 */
export interface ReceivedCopy {
  channel: Channel;
  eventId: string | null;
  startedAt: number;
  acceptedAt: number;
  /** A digest's copies arrive in one message: which, and where in its list this event is. */
  inMessage?: { id: string; position: number };
}

/** One `deliveries` row of an event. */
export interface LedgerRow {
  eventId: string;
  channel: Channel;
  state: string;
}

/** Everything a verdict reads. */
export interface RunEvidence {
  /** How many rows the load says it wrote: MySQL must hold exactly these, and more than zero. */
  written: number;
  events: WrittenEvent[];
  copies: ReceivedCopy[];
  ledger: LedgerRow[];
  /** Events with a `dead_letters` row. */
  deadLettered: ReadonlySet<string>;
}

/** What a run may show without failing, each with its reason stated where the allowance is made. */
export interface Allowance {
  /** Dead letters allowed: 0 unless the fault outlasts the retry policy on purpose. */
  deadLetters?: number;
  /** Events whose send was in flight at a crash (outcome unknown): each may arrive once more per channel, no other. */
  mayDuplicate?: ReadonlySet<string>;
}

export interface Verdict {
  written: number;
  expected: number;
  delivered: number;
  lost: number;
  deadLettered: number;
  /** Copies beyond the first, per channel. */
  duplicates: Partial<Record<Channel, number>>;
  /** Duplicates the allowance does not cover. */
  unexpectedDuplicates: number;
  /** Copies that name no event of this run. */
  strays: number;
  /** Copies of a later event of an order whose send started before every copy of an earlier event was accepted. */
  orderViolations: number;
  ledger: {
    /** A copy arrived but the ledger does not say it went out. */
    receivedNotRecorded: number;
    /** The ledger says it went out but no copy arrived. */
    recordedNotReceived: number;
    /** Rows never settled. */
    pending: number;
  };
  /** From a row's commit to its first accepted copy. */
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  firstAcceptedAt: number;
  lastAcceptedAt: number;
  /** Each broken promise in one sentence; empty when the run passed. */
  failures: string[];
  passed: boolean;
}

/** The ledger states that say a message went out (a provider's later receipt may turn `sent` into the others). */
const wentOut = new Set(['delivered', 'sent', 'undelivered', 'bounced']);

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Sum of the copies beyond the first per (event, channel), and of those beyond what the allowance covers. */
function countDuplicates(copies: ReceivedCopy[], mayDuplicate: ReadonlySet<string>) {
  const perKey = new Map<string, { channel: Channel; eventId: string; count: number }>();
  for (const copy of copies) {
    if (copy.eventId === null) continue;
    const key = `${copy.channel}/${copy.eventId}`;
    const entry = perKey.get(key) ?? { channel: copy.channel, eventId: copy.eventId, count: 0 };
    entry.count++;
    perKey.set(key, entry);
  }
  const duplicates: Partial<Record<Channel, number>> = {};
  let unexpected = 0;
  for (const { channel, eventId, count } of perKey.values()) {
    if (count < 2) continue;
    duplicates[channel] = (duplicates[channel] ?? 0) + count - 1;
    unexpected += count - 1 - (mayDuplicate.has(eventId) ? 1 : 0);
  }
  return { duplicates, unexpected };
}

/**
 * Per order, in commit order: every copy of each event must have started after every copy of every earlier event
 * was accepted, or, in the same message (a digest), come later in its list. Catches a late re-send of an earlier
 * event, a reversal within one millisecond or within a digest, and two sends of one order overlapping, none of which
 * the order of first acceptances shows.
 */
function countOrderViolations(events: WrittenEvent[], copiesOf: Map<string, ReceivedCopy[]>): number {
  const byOrder = new Map<string, WrittenEvent[]>();
  for (const event of events) byOrder.set(event.orderId, [...(byOrder.get(event.orderId) ?? []), event]);
  let violations = 0;
  for (const orderEvents of byOrder.values()) {
    orderEvents.sort((a, b) => Number(BigInt(a.eventId) - BigInt(b.eventId)));
    const earlier: ReceivedCopy[] = [];
    for (const event of orderEvents) {
      const copies = copiesOf.get(event.eventId) ?? [];
      violations += copies.filter((copy) => earlier.some((before) => !inOrder(before, copy))).length;
      earlier.push(...copies);
    }
  }
  return violations;
}

/** Whether `later` (a copy of a later event of the order) came after `before`. */
function inOrder(before: ReceivedCopy, later: ReceivedCopy): boolean {
  if (before.inMessage !== undefined && before.inMessage.id === later.inMessage?.id)
    return before.inMessage.position < later.inMessage.position;
  return later.startedAt >= before.acceptedAt;
}

function compareLedger(evidence: RunEvidence, copies: ReceivedCopy[]): Verdict['ledger'] {
  const received = new Set(copies.map((c) => `${c.channel}/${c.eventId}`));
  const recorded = new Set(evidence.ledger.filter((r) => wentOut.has(r.state)).map((r) => `${r.channel}/${r.eventId}`));
  return {
    receivedNotRecorded: [...received].filter((key) => !recorded.has(key)).length,
    recordedNotReceived: [...recorded].filter((key) => !received.has(key)).length,
    pending: evidence.ledger.filter((r) => r.state === 'pending' || r.state === 'sending').length,
  };
}

/** Judges one run: see {@link Verdict}. */
export function judge(evidence: RunEvidence, allowance: Allowance = {}): Verdict {
  const { events, deadLettered } = evidence;
  const known = new Set(events.map((e) => e.eventId));
  const copies = evidence.copies.filter((c) => c.eventId !== null && known.has(c.eventId));
  const strays = evidence.copies.length - copies.length;
  const copiesOf = new Map<string, ReceivedCopy[]>();
  for (const copy of copies) copiesOf.set(copy.eventId!, [...(copiesOf.get(copy.eventId!) ?? []), copy]);

  const latencies: number[] = [];
  let lost = 0;
  for (const event of events) {
    const accepted = copiesOf.get(event.eventId);
    if (accepted) latencies.push(Math.min(...accepted.map((c) => c.acceptedAt)) - event.occurredAtMs);
    else if (!deadLettered.has(event.eventId)) lost++;
  }
  latencies.sort((a, b) => a - b);
  const deadLetteredHere = events.filter((e) => deadLettered.has(e.eventId)).length;
  const { duplicates, unexpected } = countDuplicates(copies, allowance.mayDuplicate ?? new Set());
  const orderViolations = countOrderViolations(events, copiesOf);
  const ledger = compareLedger(evidence, copies);
  const allowedDeadLetters = allowance.deadLetters ?? 0;

  const failures = [
    evidence.written === 0 && 'the load wrote no rows: a run that did nothing proves nothing',
    evidence.written !== events.length && `the load wrote ${evidence.written} rows but MySQL holds ${events.length}`,
    lost > 0 && `${lost} events neither delivered nor dead-lettered`,
    deadLetteredHere > allowedDeadLetters &&
      `${deadLetteredHere} events dead-lettered where ${allowedDeadLetters} are allowed`,
    unexpected > 0 && `${unexpected} duplicates beyond the sends in flight at a crash`,
    strays > 0 && `${strays} copies name no event of this run`,
    orderViolations > 0 && `${orderViolations} copies sent before an earlier event of their order was accepted`,
    ledger.receivedNotRecorded > 0 && `${ledger.receivedNotRecorded} received but not recorded as sent in the ledger`,
    ledger.recordedNotReceived > 0 && `${ledger.recordedNotReceived} recorded as sent but never received`,
    ledger.pending > 0 && `${ledger.pending} deliveries rows left pending`,
  ].filter((failure): failure is string => typeof failure === 'string');

  const stamps = copies.map((c) => c.acceptedAt);
  return {
    written: evidence.written,
    expected: events.length,
    delivered: copiesOf.size,
    lost,
    deadLettered: deadLetteredHere,
    duplicates,
    unexpectedDuplicates: unexpected,
    strays,
    orderViolations,
    ledger,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    firstAcceptedAt: stamps.length ? Math.min(...stamps) : Number.NaN,
    lastAcceptedAt: stamps.length ? Math.max(...stamps) : Number.NaN,
    failures,
    passed: failures.length === 0,
  };
}

/** The total of a verdict's per-channel duplicates. */
export const totalDuplicates = (verdict: Pick<Verdict, 'duplicates'>): number =>
  Object.values(verdict.duplicates).reduce((sum, n) => sum + n, 0);

/**
 * The sends whose outcome was unknown at a crash at `crashAt` (Jepsen's `:info`): events with a copy whose send
 * started before the crash and that the ledger had not recorded as sent by then. Only these may arrive twice.
 */
export function inFlightAt(
  crashAt: number,
  copies: ReceivedCopy[],
  recordedAt: ReadonlyMap<string, number | null>,
): Set<string> {
  const inFlight = new Set<string>();
  for (const copy of copies) {
    if (copy.eventId === null || copy.startedAt >= crashAt) continue;
    const recorded = recordedAt.get(copy.eventId);
    if (recorded === undefined || recorded === null || recorded >= crashAt) inFlight.add(copy.eventId);
  }
  return inFlight;
}
