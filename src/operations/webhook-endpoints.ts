import { randomBytes } from 'node:crypto';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { jsonColumn } from '../db/pool.js';
import type { SecretBox } from '../secrets.js';
import type { destinationChecks } from '../webhook-destination.js';
import type { WebhookCustomerLimits } from '../domain.js';
import { BadRequest, NotFound } from './errors.js';
import { type Scope, inScope } from './scope.js';

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

/** What may change on a registered endpoint (its customer and secret may not; see `rotateSecret`). */
export type EndpointPatch = Partial<Omit<EndpointInput, 'customerId' | 'secret'>>;

/** A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

const endpointColumns = `id, customer_id, url, enabled, disabled_reason, retry_schedule_s, max_age_s, rate_limit_per_s, max_in_flight,
  circuit_failure_threshold, circuit_cooldown_s, created_at, updated_at`;

const endpointOf = (r: RowDataPacket) => ({
  id: String(r.id),
  customerId: String(r.customer_id),
  url: String(r.url),
  enabled: Boolean(r.enabled),
  disabledReason: r.disabled_reason as string | null,
  retryScheduleS: jsonColumn<number[] | null>(r.retry_schedule_s),
  maxAgeS: r.max_age_s as number | null,
  rateLimitPerS: r.rate_limit_per_s as number | null,
  maxInFlight: r.max_in_flight as number | null,
  circuitFailureThreshold: r.circuit_failure_threshold as number | null,
  circuitCooldownS: r.circuit_cooldown_s as number | null,
  createdAt: (r.created_at as Date).toISOString(),
  updatedAt: (r.updated_at as Date).toISOString(),
});

/** A webhook endpoint as the API and the CLI show it (never its secret). */
export type WebhookEndpoint = ReturnType<typeof endpointOf>;

/** One endpoint in the caller's scope; one outside it is reported exactly like one that does not exist. */
export async function findEndpoint(pool: Pool, id: string, scope: Scope): Promise<WebhookEndpoint> {
  const [rows] = await pool.execute<RowDataPacket[]>(`SELECT ${endpointColumns} FROM webhook_endpoints WHERE id = ?`, [
    id,
  ]);
  if (rows[0] === undefined || !inScope(scope, String(rows[0].customer_id)))
    throw new NotFound(`there is no webhook endpoint ${id}`);
  return endpointOf(rows[0]);
}

async function insertEndpoint(pool: Pool, input: EndpointInput, sealedSecret: string): Promise<string> {
  const [result] = await pool.execute<ResultSetHeader>(
    `INSERT INTO webhook_endpoints (customer_id, url, secret, enabled, retry_schedule_s, max_age_s, rate_limit_per_s, max_in_flight, circuit_failure_threshold, circuit_cooldown_s)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      input.customerId,
      input.url,
      sealedSecret,
      input.enabled ?? true,
      input.retryScheduleS ? JSON.stringify(input.retryScheduleS) : null,
      input.maxAgeS ?? null,
      input.rateLimitPerS ?? null,
      input.maxInFlight ?? null,
      input.circuitFailureThreshold ?? null,
      input.circuitCooldownS ?? null,
    ],
  );
  return String(result.insertId);
}

/** Writes every changeable column; re-enabling an endpoint clears why it was disabled. */
async function updateEndpointRow(pool: Pool, id: string, next: Omit<WebhookEndpoint, 'id'>): Promise<void> {
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
}

/** Refuses a customer's policy past the operator's limits, naming the limit and its setting. */
function withinLimits(policy: EndpointPatch, limits: WebhookCustomerLimits | undefined): void {
  if (limits === undefined) return;
  if ((policy.maxInFlight ?? 0) > limits.maxInFlight)
    throw new BadRequest(
      `maxInFlight is at most ${limits.maxInFlight} with a customer's key (WEBHOOK_MAX_IN_FLIGHT_LIMIT); an operator may set more`,
    );
  if ((policy.rateLimitPerS ?? 0) > limits.rateLimitPerS)
    throw new BadRequest(
      `rateLimitPerS is at most ${limits.rateLimitPerS} with a customer's key (WEBHOOK_RATE_LIMIT_PER_S_LIMIT); an operator may set more`,
    );
}

/**
 * Customers' webhook endpoints, as customers (their own only) and operators (all) manage them. Something outside
 * the caller's scope is reported exactly like something that does not exist.
 */
export function webhookEndpointOperations({
  pool,
  destinations,
  secrets,
  secretGraceS,
  customerLimits,
}: {
  pool: Pool;
  /** What a customer's key may ask of an endpoint's policy; none when unset. */
  customerLimits?: WebhookCustomerLimits;
  /** Where endpoints may point (checked when they are registered or moved). */
  destinations: ReturnType<typeof destinationChecks>;
  /** Seals endpoint secrets before they are stored. */
  secrets: SecretBox;
  /** How long a rotated secret keeps signing requests beside the new one. */
  secretGraceS: number;
}) {
  const get = (id: string, scope: Scope) => findEndpoint(pool, id, scope);

  return {
    async list(scope: Scope): Promise<WebhookEndpoint[]> {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT ${endpointColumns} FROM webhook_endpoints ${scope === undefined ? '' : 'WHERE customer_id = ?'} ORDER BY id`,
        scope === undefined ? [] : [scope],
      );
      return rows.map(endpointOf);
    },
    get,

    /** Registers an endpoint; the secret (generated unless given) is returned this once. */
    async create(input: EndpointInput, scope: Scope) {
      if (!inScope(scope, input.customerId)) throw new NotFound(`there is no customer ${input.customerId}`);
      const [customers] = await pool.execute<RowDataPacket[]>('SELECT 1 FROM customers WHERE id = ?', [
        input.customerId,
      ]);
      if (customers.length === 0) throw new NotFound(`there is no customer ${input.customerId}`);
      if (scope !== undefined) withinLimits(input, customerLimits);
      await destinations.checkRegistration(input.url);
      const secret = input.secret ?? newSecret();
      const id = await insertEndpoint(pool, input, secrets.seal(secret));
      return { ...(await get(id, scope)), secret };
    },

    async update(id: string, patch: EndpointPatch, scope: Scope): Promise<WebhookEndpoint> {
      const current = await get(id, scope);
      if (scope !== undefined) withinLimits(patch, customerLimits);
      if (patch.url !== undefined) await destinations.checkRegistration(patch.url);
      const next = { ...current, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
      await updateEndpointRow(pool, id, next);
      return get(id, scope);
    },

    /**
     * Issues a new secret, returned this once. The old one keeps signing requests beside it for the grace period,
     * so receivers can switch without missing a delivery.
     */
    async rotateSecret(id: string, scope: Scope, graceS = secretGraceS) {
      await get(id, scope);
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

    async remove(id: string, scope: Scope): Promise<void> {
      await get(id, scope);
      await pool.execute('DELETE FROM webhook_endpoints WHERE id = ?', [id]);
    },
  };
}
