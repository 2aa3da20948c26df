import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { type Channel, maxDigestItems } from '../domain.js';
import { Conflict, NotFound } from './errors.js';
import { type Scope, inScope } from './scope.js';
import { userCustomer } from './users.js';
import { findEndpoint } from './webhook-endpoints.js';

export interface SubscriptionInput {
  userId: string;
  channel: Channel;
  endpointId?: string | null;
  flowId?: string | null;
  onSuccess?: boolean;
  onFailure?: boolean;
  muted?: boolean;
  /** Collect its events into one message per window (issue 24); null: each is sent on its own. */
  digest?: DigestSetting | null;
}

/** A subscription's digest: a window (seconds from its first event) and the most events one digest holds. */
export interface DigestSetting {
  windowS: number;
  maxItems?: number;
}

/** What may change on a subscription (its user, channel and endpoint may not). */
export type SubscriptionPatch = Pick<SubscriptionInput, 'flowId' | 'onSuccess' | 'onFailure' | 'muted' | 'digest'>;

const subscriptionColumns = `s.id, u.customer_id, s.user_id, s.channel, s.endpoint_id, s.flow_id, s.on_success, s.on_failure, s.muted,
  s.digest_window_s, s.digest_max_items`;

const subscriptionOf = (r: RowDataPacket) => ({
  id: String(r.id),
  customerId: String(r.customer_id),
  userId: String(r.user_id),
  channel: String(r.channel),
  endpointId: r.endpoint_id === null ? null : String(r.endpoint_id),
  flowId: r.flow_id as string | null,
  onSuccess: Boolean(r.on_success),
  onFailure: Boolean(r.on_failure),
  muted: Boolean(r.muted),
  digest:
    r.digest_window_s === null
      ? null
      : { windowS: Number(r.digest_window_s), maxItems: Number(r.digest_max_items ?? maxDigestItems) },
});

/** Digests list many events in one message: email and webhooks do, SMS and push do not. */
function checkDigest(channel: string, digest: DigestSetting | null | undefined): void {
  if (digest && channel !== 'email' && channel !== 'webhook')
    throw new Conflict(`an ${channel} subscription cannot collect a digest (email and webhook subscriptions can)`);
}

const digestColumns = (digest: DigestSetting | null | undefined) =>
  digest ? [digest.windowS, Math.min(digest.maxItems ?? maxDigestItems, maxDigestItems)] : [null, null];

/** A subscription as the API shows it, with the customer of its user. */
export type Subscription = ReturnType<typeof subscriptionOf>;

/**
 * Users' subscriptions (which events of their customer's orders reach them, by email or at a webhook endpoint),
 * as customers (their own only) and operators (all) manage them. Something outside the caller's scope is reported
 * exactly like something that does not exist.
 */
export function subscriptionOperations({ pool }: { pool: Pool }) {
  async function get(id: string, scope: Scope): Promise<Subscription> {
    const [rows] = await pool.execute<RowDataPacket[]>(
      `SELECT ${subscriptionColumns} FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`,
      [id],
    );
    if (rows[0] === undefined || !inScope(scope, String(rows[0].customer_id)))
      throw new NotFound(`there is no subscription ${id}`);
    return subscriptionOf(rows[0]);
  }

  /** A webhook subscription names an endpoint of the user's own customer; the other channels name none. */
  async function checkEndpoint(input: SubscriptionInput, customerId: string, scope: Scope): Promise<void> {
    if (input.channel === 'webhook') {
      if (!input.endpointId) throw new Conflict('a webhook subscription needs endpointId');
      const endpoint = await findEndpoint(pool, input.endpointId, scope);
      if (endpoint.customerId !== customerId) throw new NotFound(`there is no webhook endpoint ${input.endpointId}`);
    } else if (input.endpointId) {
      throw new Conflict(`an ${input.channel} subscription has no endpointId`);
    }
  }

  return {
    async list(scope: Scope): Promise<Subscription[]> {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT ${subscriptionColumns} FROM subscriptions s JOIN users u ON u.id = s.user_id ${scope === undefined ? '' : 'WHERE u.customer_id = ?'} ORDER BY s.id`,
        scope === undefined ? [] : [scope],
      );
      return rows.map(subscriptionOf);
    },
    get,

    async create(input: SubscriptionInput, scope: Scope): Promise<Subscription> {
      await checkEndpoint(input, await userCustomer(pool, input.userId, scope), scope);
      checkDigest(input.channel, input.digest);
      const [result] = await pool.execute<ResultSetHeader>(
        `INSERT INTO subscriptions (user_id, channel, endpoint_id, flow_id, on_success, on_failure, muted, digest_window_s, digest_max_items)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          input.userId,
          input.channel,
          input.endpointId ?? null,
          input.flowId ?? null,
          input.onSuccess ?? true,
          input.onFailure ?? true,
          input.muted ?? false,
          ...digestColumns(input.digest),
        ],
      );
      return get(String(result.insertId), scope);
    },

    async update(id: string, patch: SubscriptionPatch, scope: Scope): Promise<Subscription> {
      const current = await get(id, scope);
      const digest = patch.digest === undefined ? current.digest : patch.digest;
      checkDigest(current.channel, digest);
      await pool.execute(
        `UPDATE subscriptions SET flow_id = ?, on_success = ?, on_failure = ?, muted = ?, digest_window_s = ?, digest_max_items = ?
          WHERE id = ?`,
        [
          patch.flowId === undefined ? current.flowId : patch.flowId,
          patch.onSuccess ?? current.onSuccess,
          patch.onFailure ?? current.onFailure,
          patch.muted ?? current.muted,
          ...digestColumns(digest),
          id,
        ],
      );
      return get(id, scope);
    },

    async remove(id: string, scope: Scope): Promise<void> {
      await get(id, scope);
      await pool.execute('DELETE FROM subscriptions WHERE id = ?', [id]);
    },
  };
}
