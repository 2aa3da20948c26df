import { randomBytes } from 'node:crypto';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { SecretBox } from '../secrets.js';
import type { destinationChecks } from '../webhook-destination.js';
import { Conflict, NotFound } from './errors.js';

/** Whose data a caller may touch: one customer's, or (undefined) every customer's. */
export type Scope = string | undefined;

export interface SubscriptionInput {
  userId: string;
  channel: 'email' | 'webhook';
  endpointId?: string | null;
  flowId?: string | null;
  onSuccess?: boolean;
  onFailure?: boolean;
  muted?: boolean;
}

export interface EndpointInput {
  customerId: string;
  url: string;
  secret?: string;
  enabled?: boolean;
  retryScheduleS?: number[] | null;
  maxAgeS?: number | null;
  rateLimitPerS?: number | null;
  maxInFlight?: number | null;
  circuitFailureThreshold?: number | null;
  circuitCooldownS?: number | null;
}

/** A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

const subscriptionColumns = `s.id, u.customer_id, s.user_id, s.channel, s.endpoint_id, s.flow_id, s.on_success, s.on_failure, s.muted`;
const endpointColumns = `id, customer_id, url, enabled, disabled_reason, retry_schedule_s, max_age_s, rate_limit_per_s, max_in_flight,
  circuit_failure_threshold, circuit_cooldown_s, created_at, updated_at`;

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
});

const endpointOf = (r: RowDataPacket) => ({
  id: String(r.id),
  customerId: String(r.customer_id),
  url: String(r.url),
  enabled: Boolean(r.enabled),
  disabledReason: r.disabled_reason as string | null,
  retryScheduleS: (typeof r.retry_schedule_s === 'string' ? JSON.parse(r.retry_schedule_s) : r.retry_schedule_s) as
    number[] | null,
  maxAgeS: r.max_age_s as number | null,
  rateLimitPerS: r.rate_limit_per_s as number | null,
  maxInFlight: r.max_in_flight as number | null,
  circuitFailureThreshold: r.circuit_failure_threshold as number | null,
  circuitCooldownS: r.circuit_cooldown_s as number | null,
  createdAt: (r.created_at as Date).toISOString(),
  updatedAt: (r.updated_at as Date).toISOString(),
});

/**
 * Subscriptions and webhook endpoints, as customers (their own only) and operators (all) manage them.
 * Something outside the caller's scope is reported exactly like something that does not exist.
 */
export function resourceOperations({
  pool,
  destinations,
  secrets,
  secretGraceS,
}: {
  pool: Pool;
  destinations: ReturnType<typeof destinationChecks>;
  /** Seals endpoint secrets before they are stored. */
  secrets: SecretBox;
  /** How long a rotated secret keeps signing requests beside the new one. */
  secretGraceS: number;
}) {
  const inScope = (scope: Scope, customerId: string | number) => scope === undefined || scope === String(customerId);

  async function userCustomer(userId: string, scope: Scope): Promise<string> {
    const [rows] = await pool.execute<RowDataPacket[]>('SELECT customer_id FROM users WHERE id = ?', [userId]);
    if (rows[0] === undefined || !inScope(scope, String(rows[0].customer_id)))
      throw new NotFound(`there is no user ${userId}`);
    return String(rows[0].customer_id);
  }

  async function getSubscription(id: string, scope: Scope) {
    const [rows] = await pool.execute<RowDataPacket[]>(
      `SELECT ${subscriptionColumns} FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`,
      [id],
    );
    if (rows[0] === undefined || !inScope(scope, String(rows[0].customer_id)))
      throw new NotFound(`there is no subscription ${id}`);
    return subscriptionOf(rows[0]);
  }

  async function getEndpoint(id: string, scope: Scope) {
    const [rows] = await pool.execute<RowDataPacket[]>(
      `SELECT ${endpointColumns} FROM webhook_endpoints WHERE id = ?`,
      [id],
    );
    if (rows[0] === undefined || !inScope(scope, String(rows[0].customer_id)))
      throw new NotFound(`there is no webhook endpoint ${id}`);
    return endpointOf(rows[0]);
  }

  return {
    async listSubscriptions(scope: Scope) {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT ${subscriptionColumns} FROM subscriptions s JOIN users u ON u.id = s.user_id ${scope === undefined ? '' : 'WHERE u.customer_id = ?'} ORDER BY s.id`,
        scope === undefined ? [] : [scope],
      );
      return rows.map(subscriptionOf);
    },
    getSubscription,

    async createSubscription(input: SubscriptionInput, scope: Scope) {
      const customerId = await userCustomer(input.userId, scope);
      if (input.channel === 'webhook') {
        if (!input.endpointId) throw new Conflict('a webhook subscription needs endpointId');
        const endpoint = await getEndpoint(input.endpointId, scope);
        if (endpoint.customerId !== customerId) throw new NotFound(`there is no webhook endpoint ${input.endpointId}`);
      } else if (input.endpointId) {
        throw new Conflict('an email subscription has no endpointId');
      }
      const [result] = await pool.execute<ResultSetHeader>(
        'INSERT INTO subscriptions (user_id, channel, endpoint_id, flow_id, on_success, on_failure, muted) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [
          input.userId,
          input.channel,
          input.endpointId ?? null,
          input.flowId ?? null,
          input.onSuccess ?? true,
          input.onFailure ?? true,
          input.muted ?? false,
        ],
      );
      return getSubscription(String(result.insertId), scope);
    },

    async updateSubscription(
      id: string,
      patch: Pick<SubscriptionInput, 'flowId' | 'onSuccess' | 'onFailure' | 'muted'>,
      scope: Scope,
    ) {
      const current = await getSubscription(id, scope);
      await pool.execute(
        'UPDATE subscriptions SET flow_id = ?, on_success = ?, on_failure = ?, muted = ? WHERE id = ?',
        [
          patch.flowId === undefined ? current.flowId : patch.flowId,
          patch.onSuccess ?? current.onSuccess,
          patch.onFailure ?? current.onFailure,
          patch.muted ?? current.muted,
          id,
        ],
      );
      return getSubscription(id, scope);
    },

    async deleteSubscription(id: string, scope: Scope) {
      await getSubscription(id, scope);
      await pool.execute('DELETE FROM subscriptions WHERE id = ?', [id]);
    },

    async listEndpoints(scope: Scope) {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT ${endpointColumns} FROM webhook_endpoints ${scope === undefined ? '' : 'WHERE customer_id = ?'} ORDER BY id`,
        scope === undefined ? [] : [scope],
      );
      return rows.map(endpointOf);
    },
    getEndpoint,

    /** Registers an endpoint; the secret (generated unless given) is returned this once. */
    async createEndpoint(input: EndpointInput, scope: Scope) {
      if (!inScope(scope, input.customerId)) throw new NotFound(`there is no customer ${input.customerId}`);
      const [customers] = await pool.execute<RowDataPacket[]>('SELECT 1 FROM customers WHERE id = ?', [
        input.customerId,
      ]);
      if (customers.length === 0) throw new NotFound(`there is no customer ${input.customerId}`);
      await destinations.checkRegistration(input.url);
      const secret = input.secret ?? newSecret();
      const [result] = await pool.execute<ResultSetHeader>(
        `INSERT INTO webhook_endpoints (customer_id, url, secret, enabled, retry_schedule_s, max_age_s, rate_limit_per_s, max_in_flight, circuit_failure_threshold, circuit_cooldown_s)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          input.customerId,
          input.url,
          secrets.seal(secret),
          input.enabled ?? true,
          input.retryScheduleS ? JSON.stringify(input.retryScheduleS) : null,
          input.maxAgeS ?? null,
          input.rateLimitPerS ?? null,
          input.maxInFlight ?? null,
          input.circuitFailureThreshold ?? null,
          input.circuitCooldownS ?? null,
        ],
      );
      return { ...(await getEndpoint(String(result.insertId), scope)), secret };
    },

    async updateEndpoint(id: string, patch: Partial<Omit<EndpointInput, 'customerId' | 'secret'>>, scope: Scope) {
      const current = await getEndpoint(id, scope);
      if (patch.url !== undefined) await destinations.checkRegistration(patch.url);
      const next = { ...current, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
      await pool.execute(
        `UPDATE webhook_endpoints SET url = ?, enabled = ?, disabled_reason = IF(?, NULL, disabled_reason), retry_schedule_s = ?, max_age_s = ?,
           rate_limit_per_s = ?, max_in_flight = ?, circuit_failure_threshold = ?, circuit_cooldown_s = ? WHERE id = ?`,
        [
          next.url,
          next.enabled,
          next.enabled,
          next.retryScheduleS ? JSON.stringify(next.retryScheduleS) : null,
          next.maxAgeS,
          next.rateLimitPerS,
          next.maxInFlight,
          next.circuitFailureThreshold,
          next.circuitCooldownS,
          id,
        ],
      );
      return getEndpoint(id, scope);
    },

    /**
     * Issues a new secret, returned this once. The old one keeps signing requests beside it for the grace period,
     * so receivers can switch without missing a delivery.
     */
    async rotateEndpointSecret(id: string, scope: Scope, graceS = secretGraceS) {
      await getEndpoint(id, scope);
      const secret = newSecret();
      await pool.execute(
        `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = CURRENT_TIMESTAMP(6) + INTERVAL ? SECOND, secret = ? WHERE id = ?`,
        [graceS, secrets.seal(secret), id],
      );
      const [[row]] = await pool.execute<RowDataPacket[]>(
        'SELECT previous_secret_expires_at FROM webhook_endpoints WHERE id = ?',
        [id],
      );
      return { id, secret, previousSecretExpiresAt: (row!.previous_secret_expires_at as Date).toISOString() };
    },

    async deleteEndpoint(id: string, scope: Scope) {
      await getEndpoint(id, scope);
      await pool.execute('DELETE FROM webhook_endpoints WHERE id = ?', [id]);
    },
  };
}
