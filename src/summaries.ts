import type { OrderEvent, Recipient } from './domain.js';
import type { DigestInput, EndpointState } from './messages.js';

/**
 * What the Temporal Web UI (and `temporal workflow describe`) shows of Orderly's workflows, so that the list answers
 * "what is this and what is it doing" without opening an input: one-line summaries, details, and what a workflow is
 * doing now. Ids, types and times only, never a name, an address or an event's text: they are kept for the
 * namespace's whole retention (and pass through the payload codec like every payload).
 */

/** A time as the UI's reader wants it: to the second, UTC. */
export const clock = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

/** `order 42: F1063 order.step.failed failure (event 7)`. */
export function notificationSummary(event: OrderEvent): string {
  const rerun = event.rerun === undefined ? '' : `, ${event.rerun}`;
  return `order ${event.orderId}: ${event.flowId} ${event.eventType} ${event.status} (event ${event.eventId}${rerun})`;
}

/** The notification's ids and what it follows (the order's previous notification when it was submitted). */
export function notificationDetails(event: OrderEvent, predecessor: string | undefined): string {
  return [
    `event ${event.eventId} of order ${event.orderId}, customer ${event.customerId}`,
    `flow ${event.flowId}, ${event.eventType}, ${event.status}, occurred ${event.occurredAt}`,
    predecessor === undefined
      ? "the order's first notification"
      : `follows ${predecessor}: sends once that one has settled`,
    ...(event.rerun === undefined ? [] : [`a rerun (${event.rerun}): what was delivered before is not sent again`]),
  ].join('\n');
}

/** One recipient as the UI names it: its channel and user (a webhook: its endpoint). */
export function recipientLabel(recipient: Pick<Recipient, 'channel' | 'userId' | 'endpoint'>): string {
  return recipient.endpoint === undefined
    ? `${recipient.channel} to user ${recipient.userId}`
    : `webhook to endpoint ${recipient.endpoint.id}`;
}

/** What a notification is doing now (its current details). */
export const notificationNow = {
  waiting: (predecessor: string | undefined, sinceMs: number) =>
    `waiting for ${predecessor ?? "the order's previous notification"} since ${clock(sinceMs)}`,
  held: (customerId: string, sinceMs: number) =>
    `held since ${clock(sinceMs)}: customer ${customerId} is paused (orderly resume ${customerId})`,
  delivering: (recipients: Recipient[]) =>
    `delivering: ${recipients.map(recipientLabel).join(', ') || 'nothing left to send'}`,
  quiet: (recipient: Recipient, untilMs: number) =>
    `${recipientLabel(recipient)} waits out quiet hours until ${clock(untilMs)}`,
  settled: (status: string, counts: { delivered: number; suppressed: number; deadLettered: number }) =>
    `settled ${status}: ${counts.delivered} delivered, ${counts.suppressed} suppressed, ${counts.deadLettered} dead-lettered`,
};

/** What a notification's timers wait for (their summaries in the UI's timeline). */
export const notificationTimers = {
  predecessorRecheck: (predecessor: string | undefined) => `look again at ${predecessor ?? 'the predecessor'}`,
  holdRecheck: (customerId: string) => `look again whether customer ${customerId} is paused`,
  quietHoursEnd: (recipient: Recipient) => `${recipientLabel(recipient)}: quiet hours end`,
  nextProviderRound: (recipient: Recipient) => `${recipientLabel(recipient)}: the next round of providers`,
};

/** `digest 9: email to user 12, flow F1063`. */
export function digestSummary({ digestId, recipient }: DigestInput): string {
  return `digest ${digestId}: ${recipientLabel(recipient)}, flow ${recipient.digest.flowId ?? 'every flow'}`;
}

export function digestDetails({ digestId, customerId, closesAt, recipient }: DigestInput): string {
  return [
    `digest ${digestId} of customer ${customerId}: ${recipientLabel(recipient)}`,
    `sent at ${clock(closesAt)} (its window of ${recipient.digest.windowS} s ends), or once it holds ${recipient.digest.maxItems} events, or on orderly digest flush ${digestId}`,
  ].join('\n');
}

/** What a digest is doing now (its current details), and what its timers wait for. */
export const digestNow = {
  collecting: ({ digestId, closesAt }: DigestInput) =>
    `collecting until ${clock(closesAt)} (orderly digest flush ${digestId} sends it now)`,
  waitingForEarlier: (ahead: number, sinceMs: number) =>
    `waiting since ${clock(sinceMs)} for the recipient's ${ahead} earlier digest(s) to settle`,
  sending: (items: number, { recipient }: DigestInput) => `sending ${items} events: ${recipientLabel(recipient)}`,
  settled: (status: string, items: number) => `settled ${status}: ${items} events`,
};

export const digestTimers = {
  windowEnds: 'the window ends',
  earlierDigestRecheck: "look again at the recipient's earlier digests",
  resultReminder: (endpointId: string) => `ask endpoint ${endpointId}'s workflow again for the result`,
};

/** `webhook endpoint 3`: its deliveries, in order, under its rate limit, circuit and retry schedule. */
export const endpointSummary = (endpointId: string): string =>
  `webhook endpoint ${endpointId}: its deliveries, under its rate limit, circuit breaker and retry schedule`;

/** What an endpoint's workflow is doing now (its current details): the state the `endpointState` query answers. */
export function endpointNow({
  circuit,
  probeAt,
  inFlight,
  waiting,
  nextAttemptAt,
  consecutiveFailures,
}: EndpointState) {
  const probe = probeAt === null ? '' : ` until its probe at ${clock(Date.parse(probeAt))}`;
  const next = nextAttemptAt === null ? '' : `, the next due at ${clock(Date.parse(nextAttemptAt))}`;
  return `circuit ${circuit}${probe}, ${consecutiveFailures} failures in a row: ${inFlight} in flight, ${waiting} waiting${next}`;
}

export const endpointTimers = {
  nextDue: 'the next delivery is due',
  idle: 'idle: ends unless a delivery comes',
};
