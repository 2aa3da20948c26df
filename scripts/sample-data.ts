import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';

/** A pool, or one connection of it inside a transaction. */
type Database = Pool | PoolConnection;

export interface SampleUser {
  id: string;
  username: string;
  email: string | null;
}

export interface SubscriptionSpec {
  flowId?: string | null;
  onSuccess?: boolean;
  onFailure?: boolean;
  muted?: boolean;
}

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
    const id = await insert(pool, 'INSERT INTO users (customer_id, username, email) VALUES (?, ?, ?)', [customerId, username, email]);
    return { id, username, email };
  },

  subscription: (pool: Database, userId: string, spec: SubscriptionSpec = {}) =>
    insert(pool, 'INSERT INTO subscriptions (user_id, flow_id, on_success, on_failure, channel, muted) VALUES (?, ?, ?, ?, ?, ?)', [
      userId,
      spec.flowId ?? null,
      spec.onSuccess ?? true,
      spec.onFailure ?? true,
      'email',
      spec.muted ?? false,
    ]),

  order: (pool: Database, customerId: string) => insert(pool, 'INSERT INTO orders (customer_id) VALUES (?)', [customerId]),

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
