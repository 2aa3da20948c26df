import type { Pool, RowDataPacket } from 'mysql2/promise';
import {
  type Channel,
  type DigestRule,
  type EndpointPolicy,
  type OrderEvent,
  type Recipient,
  type Suppression,
  digestKey,
  erasedReason,
  optOutReason,
  maxDigestItems,
} from '../domain.js';
import type { OptOutSource } from '../operations/recipient-opt-outs.js';
import type { AddressHasher } from '../address-hash.js';
import { jsonColumn } from '../db/pool.js';
import { quietHoursOfRow, quietUntil } from '../quiet-hours.js';
import { CustomerMismatch, UnknownCustomer, UnknownOrder, toFailure } from './errors.js';

export interface AudienceOfEvent {
  recipients: Recipient[];
  suppressed: Suppression[];
  /** The customer is on hold (`orderly pause`): nothing is sent until it is resumed. */
  held?: true;
}

/** One subscription of one user, as the lookup reads it (webhook columns NULL for email). */
export interface Subscription {
  user_id: string;
  username: string;
  email: string | null;
  flow_id: string | null;
  on_success: number;
  on_failure: number;
  channel: Channel;
  muted: number;
  endpoint_id: string | null;
  endpoint_enabled: number | null;
  endpoint_disabled_reason: string | null;
  /** JSON text on MariaDB, parsed already on MySQL. */
  retry_schedule_s: string | number[] | null;
  max_age_s: number | null;
  rate_limit_per_s: number | null;
  max_in_flight: number | null;
  circuit_failure_threshold: number | null;
  circuit_cooldown_s: number | null;
  digest_window_s: number | null;
  digest_max_items: number | null;
  /** When the recipient's personal data was erased (`orderly recipients erase`): nothing goes to them any more. */
  erased_at?: Date | null;
}

type SubscriptionRow = Subscription & RowDataPacket;

/** What a recipient turned off themselves (`recipient_opt_outs`), as the lookup reads it. */
export interface OptOut {
  user_id: string;
  channel: Channel;
  /** NULL: every flow. */
  flow_id: string | null;
  status: 'success' | 'failure' | 'both';
  /** A complaint (the recipient marked a mail as spam) is named so in the reason; the others are unsubscribes. */
  source: OptOutSource;
  created_at: Date;
}

type OptOutRow = OptOut & RowDataPacket;

/** An address on the suppression list (`email_suppressions`, suppressed), as the lookup reads it. */
export interface BouncedAddress {
  address: string;
  status_code: string;
  last_seen_at: Date;
}

/** A digest the recipient chose themselves (`recipient_digests`): their events of a flow (`*`: every flow), collected. */
export interface ChosenDigest {
  user_id: string;
  channel: Channel;
  flow_scope: string;
  window_s: number;
}

type ChosenDigestRow = ChosenDigest & RowDataPacket;

/** How many events a digest the recipient chose holds at most before it goes. */
export const chosenDigestMaxItems = 100;

/** Digests are made for the channels whose one message can list many events. */
const digestChannels: readonly Channel[] = ['email', 'webhook'];

/**
 * Reads who wants to hear about an event. Every user of the event's customer who has a subscription gets
 * a decision: a matching, unmuted subscription makes a recipient; otherwise the user is suppressed, with why.
 */
export function createPreferenceActivities({
  pool,
  webhookDefaults,
  hashAddress,
}: {
  pool: Pool;
  webhookDefaults: EndpointPolicy;
  /** How the suppression list keeps an erased address, so it is still matched. */
  hashAddress: AddressHasher;
}) {
  return {
    async findAudience(event: OrderEvent): Promise<AudienceOfEvent> {
      const [orders] = await pool.execute<RowDataPacket[]>(
        'SELECT o.customer_id, c.id AS customer FROM orders o LEFT JOIN customers c ON c.id = ? WHERE o.id = ?',
        [event.customerId, event.orderId],
      );
      const order = orders[0];
      if (order === undefined) throw toFailure(new UnknownOrder(event.orderId));
      if (order.customer === null) throw toFailure(new UnknownCustomer(event.customerId));
      if (String(order.customer_id) !== event.customerId)
        throw toFailure(new CustomerMismatch(event.orderId, String(order.customer_id), event.customerId));
      // Independent lookups of the same customer: side by side, not one round trip after another.
      const [[rows], [optOuts], [holds], [quiet], [digests]] = await Promise.all([
        pool.execute<SubscriptionRow[]>(
          `SELECT u.id AS user_id, u.username, u.email, s.flow_id, s.on_success, s.on_failure, s.channel, s.muted, s.endpoint_id,
                e.enabled AS endpoint_enabled, e.disabled_reason AS endpoint_disabled_reason, e.retry_schedule_s, e.max_age_s,
                e.rate_limit_per_s, e.max_in_flight, e.circuit_failure_threshold, e.circuit_cooldown_s,
                s.digest_window_s, s.digest_max_items, u.erased_at
           FROM users u
           JOIN subscriptions s ON s.user_id = u.id
           LEFT JOIN webhook_endpoints e ON e.id = s.endpoint_id AND e.customer_id = u.customer_id
          WHERE u.customer_id = ?
          ORDER BY u.id, s.id`,
          [event.customerId],
        ),
        // Only the opt-outs that cover this event: its flow or every flow, its status or both.
        pool.execute<OptOutRow[]>(
          `SELECT o.user_id, o.channel, o.flow_id, o.status, o.source, o.created_at
           FROM recipient_opt_outs o
           JOIN users u ON u.id = o.user_id
          WHERE u.customer_id = ? AND (o.flow_id IS NULL OR o.flow_id = ?) AND o.status IN (?, 'both')`,
          [event.customerId, event.flowId, event.status],
        ),
        pool.execute<RowDataPacket[]>('SELECT 1 FROM customer_holds WHERE customer_id = ?', [event.customerId]),
        pool.execute<RowDataPacket[]>(
          'SELECT user_id, time_zone, starts_at, ends_at, channels, failures_exempt FROM quiet_hours WHERE customer_id = ?',
          [event.customerId],
        ),
        pool.execute<ChosenDigestRow[]>(
          `SELECT d.user_id, d.channel, d.flow_scope, d.window_s FROM recipient_digests d JOIN users u ON u.id = d.user_id
            WHERE u.customer_id = ? AND d.flow_scope IN ('*', ?)`,
          [event.customerId, event.flowId],
        ),
      ]);
      const bounced = await suppressedAddresses(pool, rows, hashAddress);
      const audience = decideAudience(event, rows, webhookDefaults, optOuts, bounced, digests);
      keepQuietHours(audience.recipients, quiet, event.status, Date.now());
      return holds.length > 0 ? { ...audience, held: true } : audience;
    },
  };
}

/**
 * The suppressed addresses among the email subscribers': on the list in the clear, or erased and kept as their keyed
 * hash (read back as the subscriber's address, which is what the decision compares).
 */
async function suppressedAddresses(
  pool: Pool,
  rows: Subscription[],
  hashAddress: AddressHasher,
): Promise<BouncedAddress[]> {
  const addresses = [
    ...new Set(rows.flatMap((row) => (row.channel === 'email' && row.email !== null ? [row.email.toLowerCase()] : []))),
  ];
  if (addresses.length === 0) return [];
  const byHash = new Map(addresses.map((address) => [hashAddress(address), address]));
  const [suppressed] = await pool.query<RowDataPacket[]>(
    `SELECT address, address_hash, status_code, last_seen_at FROM email_suppressions
      WHERE suppressed AND (address IN (?) OR address_hash IN (?))`,
    [addresses, [...byHash.keys()]],
  );
  return suppressed.map((row) => ({
    address: (row.address as string | null) ?? byHash.get(String(row.address_hash)) ?? '',
    status_code: String(row.status_code),
    last_seen_at: row.last_seen_at as Date,
  }));
}

/** Marks the recipients whose quiet hours `now` falls in with when those end: they wait until then. */
function keepQuietHours(recipients: Recipient[], rows: RowDataPacket[], status: OrderEvent['status'], now: number) {
  const byUser = new Map(rows.map((row) => [String(row.user_id), quietHoursOfRow(row)]));
  for (const recipient of recipients) {
    const rule = byUser.get(recipient.userId);
    if (rule === undefined) continue;
    const until = quietUntil(rule, recipient.channel, status, now);
    if (until !== undefined) recipient.quietUntil = until;
  }
}

/**
 * Pure decision per (user, channel, endpoint): exported for unit tests. A recipient's own opt-out (`optOuts`)
 * covering the event's flow and status on that channel suppresses what the subscriptions would send; so does an
 * email address on the suppression list (`bounced`), for email.
 */
export function decideAudience(
  event: Pick<OrderEvent, 'flowId' | 'status'>,
  rows: Subscription[],
  webhookDefaults: EndpointPolicy,
  optOuts: OptOut[] = [],
  bounced: BouncedAddress[] = [],
  chosenDigests: ChosenDigest[] = [],
): AudienceOfEvent {
  const byDestination = new Map<string, Subscription[]>();
  for (const row of rows) {
    const key = `${row.user_id}/${row.channel}/${row.endpoint_id ?? ''}`;
    byDestination.set(key, [...(byDestination.get(key) ?? []), row]);
  }
  const audience: AudienceOfEvent = { recipients: [], suppressed: [] };
  for (const subscriptions of byDestination.values()) {
    const first = subscriptions[0]!;
    const destination = {
      userId: String(first.user_id),
      channel: first.channel,
      ...(first.endpoint_id === null ? {} : { endpointId: String(first.endpoint_id) }),
    };
    const forFlow = subscriptions.filter((s) => s.flow_id === null || s.flow_id === event.flowId);
    const forStatus = forFlow.filter((s) => (event.status === 'success' ? s.on_success : s.on_failure));
    const active = forStatus.filter((s) => !s.muted);
    const reason = first.erased_at
      ? erasedReason(first.erased_at)
      : forFlow.length === 0
        ? `not subscribed to flow ${event.flowId}`
        : forStatus.length === 0
          ? `not subscribed to ${event.status} events`
          : active.length === 0
            ? 'muted'
            : (optedOut(destination, event, optOuts) ?? addressBounced(first, bounced) ?? endpointProblem(first));
    if (reason !== undefined) {
      audience.suppressed.push({ ...destination, reason });
      continue;
    }
    const recipient: Recipient = {
      userId: destination.userId,
      username: first.username,
      email: first.email,
      channel: first.channel,
    };
    if (destination.endpointId !== undefined)
      recipient.endpoint = { id: destination.endpointId, policy: endpointPolicy(first, webhookDefaults) };
    const digest = digestOf(destination, event, active, chosenDigests);
    if (digest !== undefined) recipient.digest = digest;
    audience.recipients.push(recipient);
  }
  return audience;
}

/**
 * Whether the event goes into a digest: the recipient's own choice for its flow (or every flow) on this channel, else
 * its subscriptions' when every one that asks for it collects (one asking for it at once wins).
 */
function digestOf(
  destination: { userId: string; channel: Channel; endpointId?: string },
  event: Pick<OrderEvent, 'flowId'>,
  active: Subscription[],
  chosenDigests: ChosenDigest[],
): DigestRule | undefined {
  if (!digestChannels.includes(destination.channel)) return undefined;
  const chosen = chosenDigests
    .filter((d) => String(d.user_id) === destination.userId && d.channel === destination.channel)
    .sort((a, b) => Number(b.flow_scope !== '*') - Number(a.flow_scope !== '*'))[0];
  if (chosen !== undefined) {
    const flowId = chosen.flow_scope === '*' ? null : event.flowId;
    return { key: digestKey(destination, flowId), flowId, windowS: chosen.window_s, maxItems: chosenDigestMaxItems };
  }
  const first = active[0]!;
  if (!active.every((s) => s.digest_window_s !== null)) return undefined;
  return {
    key: digestKey(destination, first.flow_id),
    flowId: first.flow_id,
    windowS: first.digest_window_s!,
    maxItems: Math.min(first.digest_max_items ?? maxDigestItems, maxDigestItems),
  };
}

/** Why a webhook subscription's endpoint cannot take deliveries, if it cannot. */
function endpointProblem(row: Subscription): string | undefined {
  if (row.channel !== 'webhook') return undefined;
  if (row.endpoint_enabled === null) return `webhook endpoint ${row.endpoint_id} does not exist`;
  if (!row.endpoint_enabled)
    return `webhook endpoint ${row.endpoint_id} is disabled (${row.endpoint_disabled_reason ?? 'by an operator'})`;
  return undefined;
}

/**
 * `unsubscribed by the recipient on <YYYY-MM-DD>` when the user turned this event off on this channel, or
 * `marked as spam by the recipient on <YYYY-MM-DD>` when a complaint did.
 */
function optedOut(
  destination: { userId: string; channel: Channel },
  event: Pick<OrderEvent, 'flowId' | 'status'>,
  optOuts: OptOut[],
): string | undefined {
  const optOut = optOuts.find(
    (o) =>
      String(o.user_id) === destination.userId &&
      o.channel === destination.channel &&
      (o.flow_id === null || o.flow_id === event.flowId) &&
      (o.status === 'both' || o.status === event.status),
  );
  return optOut && optOutReason(optOut.source, optOut.created_at);
}

/** `address bounced on <YYYY-MM-DD>: <status>` when an email subscription's address is on the suppression list. */
function addressBounced(row: Subscription, bounced: BouncedAddress[]): string | undefined {
  if (row.channel !== 'email' || row.email === null) return undefined;
  const address = row.email.toLowerCase();
  const entry = bounced.find((b) => b.address.toLowerCase() === address);
  return entry && `address bounced on ${entry.last_seen_at.toISOString().slice(0, 10)}: ${entry.status_code}`;
}

/** The endpoint's own settings where it has them, the service's defaults otherwise. */
function endpointPolicy(row: Subscription, defaults: EndpointPolicy): EndpointPolicy {
  const schedule = jsonColumn<unknown>(row.retry_schedule_s);
  return {
    retryScheduleS:
      Array.isArray(schedule) && schedule.length > 0 && schedule.every((s) => typeof s === 'number' && s >= 0)
        ? (schedule as number[])
        : defaults.retryScheduleS,
    maxAgeS: row.max_age_s ?? defaults.maxAgeS,
    ratePerSecond: row.rate_limit_per_s ?? defaults.ratePerSecond,
    maxInFlight: row.max_in_flight ?? defaults.maxInFlight,
    circuitFailureThreshold: row.circuit_failure_threshold ?? defaults.circuitFailureThreshold,
    circuitCooldownS: row.circuit_cooldown_s ?? defaults.circuitCooldownS,
  };
}
