import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { NotFound, requireId } from './errors.js';

/** Who is calling: an operator (every customer) or one customer. */
export type Principal = { kind: 'admin'; keyId: string } | { kind: 'customer'; keyId: string; customerId: string };

const hashOf = (key: string): string => createHash('sha256').update(key).digest('hex');

/** API keys, kept only as hashes: the key itself is shown once, when it is created. */
export function apiKeyOperations({ pool }: { pool: Pool }) {
  return {
    /** A new key for one customer, or (customerId undefined) an operator key. */
    async create(name: string, customerId?: string): Promise<{ id: string; key: string }> {
      if (customerId !== undefined) {
        const [rows] = await pool.execute<RowDataPacket[]>('SELECT 1 FROM customers WHERE id = ?', [
          requireId('customer', customerId),
        ]);
        if (rows.length === 0) throw new NotFound(`there is no customer ${customerId}`);
      }
      const key = `ok_${randomBytes(32).toString('base64url')}`;
      const [result] = await pool.execute<ResultSetHeader>(
        'INSERT INTO api_keys (key_hash, customer_id, name) VALUES (?, ?, ?)',
        [hashOf(key), customerId ?? null, name],
      );
      return { id: String(result.insertId), key };
    },

    async revoke(id: string): Promise<void> {
      const [result] = await pool.execute<ResultSetHeader>(
        'UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP(6) WHERE id = ? AND revoked_at IS NULL',
        [requireId('API key', id)],
      );
      if (result.affectedRows === 0) throw new NotFound(`there is no active API key ${id}`);
    },

    /**
     * The principal a presented key stands for, or undefined for an unknown or revoked key. The index finds the
     * candidates by a prefix of the hash; the whole hash is compared in constant time.
     */
    async authenticate(key: string): Promise<Principal | undefined> {
      const hash = hashOf(key);
      const [rows] = await pool.execute<RowDataPacket[]>(
        'SELECT id, customer_id, key_hash FROM api_keys WHERE key_hash LIKE ? AND revoked_at IS NULL',
        [`${hash.slice(0, 8)}%`],
      );
      const row = rows.find((candidate) =>
        timingSafeEqual(Buffer.from(String(candidate.key_hash), 'hex'), Buffer.from(hash, 'hex')),
      );
      if (row === undefined) return undefined;
      return row.customer_id === null
        ? { kind: 'admin', keyId: String(row.id) }
        : { kind: 'customer', keyId: String(row.id), customerId: String(row.customer_id) };
    },
  };
}
