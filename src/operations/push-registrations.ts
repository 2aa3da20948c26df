import type { destinationChecks } from '../webhook-destination.js';
import { createHash } from 'node:crypto';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { InvalidContact, parseFcmToken, parseWebPushSubscription } from '../providers/contacts.js';
import { BadRequest, NotFound } from './errors.js';
import { type Scope, inScope } from './scope.js';
import { userCustomer } from './users.js';

/**
 * A device to register: a browser's Web Push subscription (what `PushSubscription.toJSON()` gives, as an object or
 * JSON text) or an FCM registration token.
 */
export type PushRegistrationInput =
  | { kind: 'web-push'; subscription?: unknown; token?: undefined }
  | { kind: 'fcm'; token?: string; subscription?: undefined };

const registrationColumns = 'id, customer_id, user_id, kind, endpoint, token, created_at';

/**
 * What is shown of a registration: enough to tell devices apart, never the browser's `auth` secret or its key, and
 * of an FCM token only its last characters.
 */
const registrationOf = (r: RowDataPacket) => ({
  id: String(r.id),
  customerId: String(r.customer_id),
  userId: String(r.user_id),
  kind: r.kind as 'web-push' | 'fcm',
  /** web-push: the push service URL the browser gave. */
  endpoint: r.endpoint as string | null,
  /** fcm: the token's last 8 characters. */
  tokenEnding: r.token === null ? null : `…${String(r.token).slice(-8)}`,
  createdAt: (r.created_at as Date).toISOString(),
});

/** A push registration as the API and the CLI show it. */
export type PushRegistration = ReturnType<typeof registrationOf>;

/** The columns of a valid registration, or {@link BadRequest} naming its first problem. */
function columnsOf(input: PushRegistrationInput) {
  try {
    if (input.kind === 'web-push') {
      if (input.subscription === undefined || input.token !== undefined)
        throw new BadRequest('a web-push registration has a subscription and no token');
      const { endpoint, keys } = parseWebPushSubscription(input.subscription);
      return { endpoint, p256dh: keys.p256dh, auth: keys.auth, token: null, address: endpoint };
    }
    if (input.token === undefined || input.subscription !== undefined)
      throw new BadRequest('an fcm registration has a token and no subscription');
    const token = parseFcmToken(input.token);
    return { endpoint: null, p256dh: null, auth: null, token, address: token };
  } catch (error) {
    if (error instanceof InvalidContact) throw new BadRequest(error.message);
    throw error;
  }
}

/** Inserts a registration, or finds the user's existing one of the same device (a concurrent request's too). */
async function insertOnce(
  pool: Pool,
  row: { customerId: string; userId: string; kind: string } & Omit<ReturnType<typeof columnsOf>, 'address'>,
  addressHash: string,
): Promise<{ id: string; created: boolean }> {
  const existing = async () => {
    const [rows] = await pool.execute<RowDataPacket[]>(
      'SELECT id FROM push_registrations WHERE user_id = ? AND address_hash = ?',
      [row.userId, addressHash],
    );
    return rows[0] === undefined ? undefined : String(rows[0].id);
  };
  const found = await existing();
  if (found !== undefined) return { id: found, created: false };
  try {
    const [result] = await pool.execute<ResultSetHeader>(
      `INSERT INTO push_registrations (customer_id, user_id, kind, endpoint, p256dh, auth, token, address_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [row.customerId, row.userId, row.kind, row.endpoint, row.p256dh, row.auth, row.token, addressHash],
    );
    return { id: String(result.insertId), created: true };
  } catch (error) {
    // Registered by a concurrent request in between: that one is the registration.
    if ((error as { code?: string }).code !== 'ER_DUP_ENTRY') throw error;
    return { id: (await existing())!, created: false };
  }
}

/**
 * Users' push devices (any number per user), where push notifications go; customers manage their own users'
 * (operators everyone's). Something outside the caller's scope is reported exactly like something that does not
 * exist.
 */
export function pushRegistrationOperations({
  pool,
  destinations,
}: {
  pool: Pool;
  /** Where a Web Push subscription's push service may be: the webhooks' destination policy. */
  destinations: ReturnType<typeof destinationChecks>;
}) {
  async function get(id: string, scope: Scope): Promise<PushRegistration> {
    const [rows] = await pool.execute<RowDataPacket[]>(
      `SELECT ${registrationColumns} FROM push_registrations WHERE id = ?`,
      [id],
    );
    if (rows[0] === undefined || !inScope(scope, String(rows[0].customer_id)))
      throw new NotFound(`there is no push registration ${id}`);
    return registrationOf(rows[0]);
  }

  return {
    async list(userId: string, scope: Scope): Promise<PushRegistration[]> {
      await userCustomer(pool, userId, scope);
      const [rows] = await pool.execute<RowDataPacket[]>(
        `SELECT ${registrationColumns} FROM push_registrations WHERE user_id = ? ORDER BY id`,
        [userId],
      );
      return rows.map(registrationOf);
    },

    /**
     * Registers a device. The same device (endpoint or token) registered again for the user is the existing
     * registration (`created: false`), its keys refreshed to the latest the browser gave.
     */
    async register(
      userId: string,
      input: PushRegistrationInput,
      scope: Scope,
    ): Promise<{ registration: PushRegistration; created: boolean }> {
      const customerId = await userCustomer(pool, userId, scope);
      const { address, ...columns } = columnsOf(input);
      // A push service inside the network is refused as a webhook URL would be (the sender checks again).
      if (columns.endpoint !== null) await destinations.checkRegistration(columns.endpoint);
      const row = { customerId, userId, kind: input.kind, ...columns };
      const { id, created } = await insertOnce(pool, row, createHash('sha256').update(address).digest('hex'));
      if (created) return { registration: await get(id, scope), created };
      // A browser that subscribes again may have new keys for the same endpoint: keep the latest.
      await pool.execute('UPDATE push_registrations SET p256dh = ?, auth = ? WHERE id = ?', [
        columns.p256dh,
        columns.auth,
        id,
      ]);
      return { registration: await get(id, scope), created: false };
    },

    async remove(id: string, scope: Scope): Promise<void> {
      await get(id, scope);
      await pool.execute('DELETE FROM push_registrations WHERE id = ?', [id]);
    },
  };
}
