/**
 * Orderly's vocabulary, shared by ingest, workflows and activities. Pure: no I/O, safe in the workflow sandbox.
 */

/** One row of `order_events` as Orderly carries it. Ids are strings: BIGINT does not fit a JS number. */
export interface OrderEvent {
  eventId: string;
  /**
   * What one notification is about: the event id for the row's insert, `<eventId>@<binlog position>` for an
   * update that changed its status. Stable across Kafka redeliveries. Absent on payloads recorded before it
   * existed, where it equals the event id: read it with {@link notificationKey}.
   */
  notificationId?: string;
  orderId: string;
  customerId: string;
  flowId: string;
  eventType: string;
  status: 'success' | 'failure';
  source: string;
  executionMs: number | null;
  errorCode: string | null;
  errorDesc: string | null;
  /** When the upstream system wrote the event (ISO 8601, UTC). */
  occurredAt: string;
  /**
   * Set when an operator sends the notification again (`redrive-<deadLetterId>`, `replay-<time>`): names that
   * run, so it gets a workflow of its own. The ledger still knows it by {@link notificationKey}, so what was
   * delivered before is not sent twice.
   */
  rerun?: string;
}

/**
 * The longest error description carried into a notification. error_desc is MEDIUMTEXT upstream; a workflow
 * payload must stay far below Temporal's 2 MB limit, and nobody reads megabytes in an email. Debezium cuts the
 * column one character past it at the source (`column.truncate.to.<n>.chars`, stack/local-settings.ts), so a change
 * event stays far below Kafka's message limit even when it carries the row twice, before and after.
 */
export const maxErrorDescChars = 16_384;

/**
 * An `error_desc` as a notification carries it, from Debezium's copy of the row or from the row itself: cut at
 * {@link maxErrorDescChars}, saying so (how much more there was is unknown once Debezium has cut it).
 */
export function truncateErrorDesc(text: string | null): string | null {
  if (text === null || text.length <= maxErrorDescChars) return text;
  return `${text.slice(0, maxErrorDescChars)} [... cut at ${maxErrorDescChars} characters, truncated by Orderly]`;
}

/**
 * The longest error text that travels into a workflow's history and the ledger: a server's reply can be megabytes,
 * and a dead letter that cannot be written is retried forever.
 */
export const maxErrorTextChars = 2_000;

/**
 * An error text as histories and the ledger keep it, cut at {@link maxErrorTextChars} (saying so). Applied where
 * error texts are made: the one mapper from errors to failures and the one builder of dead letters.
 */
export function errorText(text: string): string {
  if (text.length <= maxErrorTextChars) return text;
  return `${text.slice(0, maxErrorTextChars)} [... ${text.length - maxErrorTextChars} more characters]`;
}

/** The identity of the notification an event change asks for (see {@link OrderEvent.notificationId}). */
/**
 * The "order complete" notification that the event's success completes (seed 002): the same event, under a
 * notification key of its own (`<key>:completed`), so its deliveries are its own in the ledger.
 */
export function completionOf(event: OrderEvent): OrderEvent {
  return { ...event, notificationId: `${notificationKey(event)}:completed` };
}

export function notificationKey(event: Pick<OrderEvent, 'eventId' | 'notificationId'>): string {
  return event.notificationId ?? event.eventId;
}

/** Which run of a notification an event asks for: its key, plus the rerun's name when an operator asked for one. */
export function notificationRunKey(event: Pick<OrderEvent, 'eventId' | 'notificationId' | 'rerun'>): string {
  return event.rerun === undefined ? notificationKey(event) : `${notificationKey(event)}#${event.rerun}`;
}

/** The seed's success and failure mails, and seed 002's completion notification (every step of a flow succeeded). */
export const templateIds = ['order-event-succeeded', 'order-event-failed', 'order-completed'] as const;
export type TemplateId = (typeof templateIds)[number];

/** Which email an event gets: the seed's success and failure templates. */
export function classify(event: Pick<OrderEvent, 'status'>): TemplateId {
  return event.status === 'success' ? 'order-event-succeeded' : 'order-event-failed';
}

export type Channel = 'email' | 'webhook' | 'sms' | 'push';

/**
 * How one webhook endpoint is delivered to: the endpoint's own settings where it has them, the service's
 * defaults otherwise. Carried in workflow history, so it holds no secret and no URL.
 */
export interface EndpointPolicy {
  /** Seconds before each retry; the last one repeats until `maxAgeS`. */
  retryScheduleS: number[];
  /** A delivery still failing this long after its first attempt is dead-lettered. */
  maxAgeS: number;
  /** Token bucket: requests per second, with a burst of the same size. */
  ratePerSecond: number;
  /** Requests to the endpoint at the same time, at most. */
  maxInFlight: number;
  /** Consecutive failures that open the circuit. */
  circuitFailureThreshold: number;
  /** How long an open circuit waits before one probe request. */
  circuitCooldownS: number;
}

/** A user who should hear about an event on a channel: at an email address, or at a webhook endpoint. */
export interface Recipient {
  userId: string;
  username: string;
  email: string | null;
  channel: Channel;
  endpoint?: { id: string; policy: EndpointPolicy };
  /** A webhook whose direct attempt failed in a way that may pass: its endpoint's workflow goes on from there. */
  directAttempt?: DirectAttemptFailure;
  /** In the user's quiet hours: nothing is sent before then (epoch ms), and the order's next notification waits. */
  quietUntil?: number;
  /** The recipient takes this event in a digest: collected, and sent with the others of its window. */
  digest?: DigestRule;
}

/** How a recipient's events on one channel (and endpoint) and flow scope are collected (issue 24, seed 002). */
export interface DigestRule {
  /** Names the recipient's digests: `<userId>:<channel>:<endpointId or 0>:<flowId or *>`; one is open at a time. */
  key: string;
  /** The flow it collects; null: every flow. */
  flowId: string | null;
  /** A digest is sent this long after its first event... */
  windowS: number;
  /** ...or as soon as it holds this many. */
  maxItems: number;
}

/** The most events one digest holds, whatever a subscription asks: one mail, one POST, read at a glance. */
export const maxDigestItems = 500;

export function digestKey(
  destination: { userId: string; channel: Channel; endpointId?: string },
  flowId: string | null,
) {
  return `${destination.userId}:${destination.channel}:${destination.endpointId ?? 0}:${flowId ?? '*'}`;
}

/** One event of a digest, with the template it would have had alone. */
export interface DigestItem {
  template: TemplateId;
  event: OrderEvent;
}

/** What a digest sends: its events in the order they were collected (per order, commit order). */
export interface DigestContent {
  digestId: string;
  customerId: string;
  items: DigestItem[];
}

/** What one webhook message carries: one event's notification, or a digest of many. */
export type WebhookContent = { event: OrderEvent; template: TemplateId } | { digest: DigestContent };

/** A digest's own notification id in the ledger: its `deliveries` row, bounce address and mail are its own. */
export const digestNotificationId = (digestId: string): string => `digest-${digestId}`;

/** A webhook's direct attempt that failed in a way that may pass. */
export interface DirectAttemptFailure {
  /** When the next attempt is due (epoch ms): the endpoint's Retry-After, or its retry schedule's first delay. */
  retryAt: number;
  /** Counts towards the endpoint's circuit breaker (not a 429). */
  countsAsFailure: boolean;
}

/**
 * A delivery that went out, as the ledger records it: delivered, or for an SMS `sent` (accepted by the provider,
 * its receipt still to come), with the provider that carried it when there is one to name (SMS and push).
 */
export interface DeliveredRecord {
  notificationId: string;
  userId: string;
  channel: string;
  endpointId?: string;
  providerMessageId: string;
  attempts: number;
  provider?: string;
  state?: 'delivered' | 'sent';
}

/** A user whose subscriptions exist but do not ask for this event. */
export interface Suppression {
  userId: string;
  channel: Channel;
  endpointId?: string;
  reason: string;
}

/** Why a recipient's opt-out suppresses a delivery: `unsubscribed` (or `marked as spam`) `by the recipient on <date>`. */
export function optOutReason(source: string, optedOutAt: Date): string {
  const how = source === 'complaint' ? 'marked as spam' : 'unsubscribed';
  return `${how} by the recipient on ${optedOutAt.toISOString().slice(0, 10)}`;
}

/** Why an erased recipient's deliveries are suppressed: the erasure's own and every later event's. */
export function erasedReason(erasedAt: Date): string {
  return `recipient erased on ${erasedAt.toISOString().slice(0, 10)}`;
}

/** Error types that are never worth retrying; activities throw them as non-retryable failures. */
export const permanentErrors = {
  unknownOrder: 'UnknownOrder',
  unknownCustomer: 'UnknownCustomer',
  customerMismatch: 'CustomerMismatch',
  unknownTemplate: 'UnknownTemplate',
  invalidRecipient: 'InvalidRecipient',
  smtpRejected: 'SmtpPermanentFailure',
  /** The user's phone number is not a valid E.164 number: no provider is asked. */
  invalidPhoneNumber: 'InvalidPhoneNumber',
  /** An SMS or push provider refused the recipient (invalid number, unregistered token): never failed over. */
  recipientRejected: 'RecipientRejected',
  /** An SMS or push provider refused our request itself (credentials, sender, malformed): permanent until fixed. */
  providerRejected: 'ProviderRejected',
} as const;

/** An SMS or push provider could not take the message now (5xx, 429, timeout): retried, then failed over. */
export const providerUnavailable = 'ProviderUnavailable';

/** Why a webhook delivery was given up: the `error_type` of its dead letter. */
export const webhookFailures = {
  gone: 'WebhookEndpointGone',
  disabled: 'WebhookEndpointDisabled',
  rejected: 'WebhookRejected',
  expired: 'WebhookRetriesExhausted',
  /** The URL points inside the network (or uses another scheme): no request was made. */
  forbidden: 'WebhookDestinationForbidden',
  /** The message's content was erased before it could be sent: no request was made. */
  missing: 'WebhookMessageMissing',
} as const;

/** What the `dead_letters` table holds for one failed notification. */
export interface DeadLetter {
  eventId: string;
  notificationId: string;
  orderId: string;
  customerId: string;
  /** The recipient whose delivery failed; absent when the whole event could not be notified. */
  userId?: string;
  channel?: Channel;
  endpointId?: string;
  errorType: string;
  message: string;
  attempts: number;
  failedAt: string;
}

/** Signals sent from outside workflow code too (activities signal by name), defined once. */
export const signalNames = {
  /** The order's previous notification has settled: go. */
  predecessorSettled: 'predecessorSettled',
} as const;

export const workflowIds = {
  notification: (notificationId: string) => `notification:${notificationId}`,
  /** Retired: the workflow worker terminates it at start (see retireDeadLettersWorkflow); the table is the record. */
  retiredDeadLetters: 'dead-letters',
  webhookEndpoint: (endpointId: string) => `webhook-endpoint:${endpointId}`,
  digest: (digestId: string) => `digest:${digestId}`,
} as const;

/** The most a customer's key may set an endpoint's in-flight cap and rate limit to (operators may set more). */
export interface WebhookCustomerLimits {
  maxInFlight: number;
  rateLimitPerS: number;
}

/**
 * An endpoint's workflow task may take long on a loaded worker: its history (up to 2,000 events) is replayed
 * whenever thousands of notifications have pushed it out of the worker's cache. With Temporal's default of 10 s,
 * such a task timed out, was replayed again, and timed out again, up to its sixth attempt (seen in the bench's 200/s
 * webhook phase). Set where the workflow starts and where it continues as new.
 */
export const endpointWorkflowTaskTimeout = '1 minute';

/** The Standard Webhooks `webhook-id` of one notification at one endpoint: the same on every attempt. */
export function webhookMessageId(notificationId: string, endpointId: string): string {
  return `msg_${notificationId.replace(/[^A-Za-z0-9]/g, '_')}_${endpointId}`;
}

/** Workflows and their local activities run on one queue; SMTP sends and webhook calls on their own, so each scales apart. */
export const taskQueues = {
  workflows: 'orderly-workflows',
  email: 'orderly-email',
  webhooks: 'orderly-webhooks',
  /** One queue per SMS or push provider: its rate limit is set on the queue, so it holds across every worker. */
  provider: (name: string) => `orderly-provider-${name}`,
} as const;

/** The SMS and push providers a notification may use, in failover order (SMS); from the workflow worker's configuration. */
export interface ChannelProviders {
  sms: string[];
  push: string[];
  /** `PROVIDER_MAX_AGE_S`: how long after its first attempt a delivery failing everywhere goes on being retried. */
  maxAgeS?: number;
}
