import { randomBytes } from 'node:crypto';
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { EndpointPolicy } from '../src/domain.js';

/** A pool, or one connection of it inside a transaction. */
type Database = Pool | PoolConnection;

export interface SampleUser {
  id: string;
  username: string;
  email: string | null;
}

export interface SubscriptionSpec {
  /** A webhook subscription names the customer's endpoint; without one, the subscription is by email. */
  endpointId?: string;
  /** By SMS or push instead of email (the user's phone number or devices are kept apart). */
  channel?: 'sms' | 'push';
  flowId?: string | null;
  onSuccess?: boolean;
  onFailure?: boolean;
  muted?: boolean;
  /** Collect its events into digests (issue 24). */
  digest?: { windowS: number; maxItems?: number };
}

export type EndpointSpec = Partial<EndpointPolicy>;

export interface EventSpec {
  orderId: string;
  customerId: string;
  flowId?: string;
  eventType?: string;
  status: 'success' | 'failure';
  source?: string;
  executionMs?: number | null;
  errorCode?: string | null;
  errorDesc?: string | null;
}

async function insert(pool: Database, sql: string, values: (string | number | boolean | null)[]): Promise<string> {
  const [result] = await pool.execute<ResultSetHeader>(sql, values);
  return String(result.insertId);
}

/** Writes rows the way the upstream system and Orderly's admins would: plain INSERTs, ids from MySQL. */
export const sample = {
  customer: (pool: Database, name: string) => insert(pool, 'INSERT INTO customers (name) VALUES (?)', [name]),

  async user(pool: Database, customerId: string, username: string, email: string | null): Promise<SampleUser> {
    const id = await insert(pool, 'INSERT INTO users (customer_id, username, email) VALUES (?, ?, ?)', [
      customerId,
      username,
      email,
    ]);
    return { id, username, email };
  },

  subscription: (pool: Database, userId: string, spec: SubscriptionSpec = {}) =>
    insert(
      pool,
      `INSERT INTO subscriptions (user_id, flow_id, on_success, on_failure, channel, endpoint_id, muted, digest_window_s, digest_max_items)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        userId,
        spec.flowId ?? null,
        spec.onSuccess ?? true,
        spec.onFailure ?? true,
        spec.channel ?? (spec.endpointId === undefined ? 'email' : 'webhook'),
        spec.endpointId ?? null,
        spec.muted ?? false,
        spec.digest?.windowS ?? null,
        spec.digest?.maxItems ?? null,
      ],
    ),

  /** Registers a webhook endpoint with a fresh Standard Webhooks secret; NULL policy columns take the defaults. */
  async webhookEndpoint(
    pool: Database,
    customerId: string,
    url: string,
    policy: EndpointSpec = {},
  ): Promise<{ id: string; secret: string }> {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const id = await insert(
      pool,
      `INSERT INTO webhook_endpoints (customer_id, url, secret, retry_schedule_s, max_age_s, rate_limit_per_s, max_in_flight, circuit_failure_threshold, circuit_cooldown_s)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        customerId,
        url,
        secret,
        policy.retryScheduleS === undefined ? null : JSON.stringify(policy.retryScheduleS),
        policy.maxAgeS ?? null,
        policy.ratePerSecond ?? null,
        policy.maxInFlight ?? null,
        policy.circuitFailureThreshold ?? null,
        policy.circuitCooldownS ?? null,
      ],
    );
    return { id, secret };
  },

  order: (pool: Database, customerId: string) =>
    insert(pool, 'INSERT INTO orders (customer_id) VALUES (?)', [customerId]),

  event: (pool: Database, spec: EventSpec) =>
    insert(
      pool,
      `INSERT INTO order_events (order_id, customer_id, flow_id, event_type, status, source, execution_ms, error_code, error_desc)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        spec.orderId,
        spec.customerId,
        spec.flowId ?? 'F1063',
        spec.eventType ?? (spec.status === 'success' ? 'order.step.completed' : 'order.step.failed'),
        spec.status,
        spec.source ?? 'checkout-service',
        spec.executionMs === undefined ? 1500 : spec.executionMs,
        spec.errorCode ?? (spec.status === 'failure' ? 'E500' : null),
        spec.errorDesc ?? (spec.status === 'failure' ? 'Upstream step failed' : null),
      ],
    ),
};
