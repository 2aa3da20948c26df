import type { Pool, RowDataPacket } from 'mysql2/promise';
import { NotFound } from './errors.js';
import { type Scope, inScope } from './scope.js';

/**
 * The customer of a user in the caller's scope; a user outside it is reported exactly like one that does not exist
 * (`there is no user <id>`).
 */
export async function userCustomer(pool: Pool, userId: string, scope: Scope): Promise<string> {
  const [rows] = await pool.execute<RowDataPacket[]>('SELECT customer_id FROM users WHERE id = ?', [userId]);
  if (rows[0] === undefined || !inScope(scope, String(rows[0].customer_id)))
    throw new NotFound(`there is no user ${userId}`);
  return String(rows[0].customer_id);
}
