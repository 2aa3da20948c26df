import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { AddressHasher } from '../address-hash.js';
import { inTransaction } from '../db/pool.js';
import { erasedReason } from '../domain.js';
import type { Scope } from './scope.js';
import { userCustomer } from './users.js';

/** What erasing a recipient did, and where something of them is still kept. */
export interface ErasureReport {
  userId: string;
  erasedAt: string;
  /** Rows changed or deleted, per table. */
  rows: Record<string, number>;
  /** What Orderly still holds of the recipient, and where, in words. */
  remains: string[];
}

/** What an erased value is replaced with inside texts (errors, bounce diagnostics, audit entries). */
const redacted = '[erased]';

const remains = [
  'users: the row, its id and customer, with no name or address, and when it was erased; every later event for this user is suppressed with that reason',
  "deliveries, dead_letters, recipient_opt_outs: what was sent when, by user id only, until retention prunes them; their texts have the user's address and phone number replaced",
  'email_suppressions: a suppressed address stays as its keyed hash (ERASURE_HASH_KEY), so it stays suppressed',
  "Temporal histories of this user's notifications: the address and name, encrypted under PAYLOAD_ENCRYPTION_KEYS, until the namespace's retention removes them",
  'outside Orderly: the upstream system that writes users, and what mail servers and SMS and push providers keep',
];

/**
 * Erasure of a recipient's personal data on request (`orderly recipients erase`, `POST /v1/users/{id}/erasure`), in
 * one transaction: their name and address, phone number, push devices, quiet hours and digest choices go; texts that
 * quote the address or number (errors, bounce reports, diagnostics, audit entries) have it replaced; deliveries not yet
 * sent are suppressed. Erasing twice changes nothing more.
 */
export function erasureOperations({ pool, hashAddress }: { pool: Pool; hashAddress: AddressHasher }) {
  return {
    async erase(userId: string, scope: Scope): Promise<ErasureReport> {
      await userCustomer(pool, userId, scope);
      return inTransaction(pool, async (connection) => {
        const [[user]] = await connection.execute<RowDataPacket[]>(
          'SELECT email, COALESCE(erased_at, NOW(6)) AS erased_at FROM users WHERE id = ? FOR UPDATE',
          [userId],
        );
        const erasedAt = user!.erased_at as Date;
        const reason = erasedReason(erasedAt);
        const [phones] = await connection.execute<RowDataPacket[]>('SELECT e164 FROM phone_numbers WHERE user_id = ?', [
          userId,
        ]);
        const [devices] = await connection.execute<RowDataPacket[]>(
          'SELECT COALESCE(endpoint, token) AS address FROM push_registrations WHERE user_id = ?',
          [userId],
        );
        const email = user!.email as string | null;
        const values = [email, ...phones.map((p) => String(p.e164)), ...devices.map((d) => String(d.address))].filter(
          (value): value is string => value !== null && value.length > 0,
        );
        // Request URLs (the audit trail's targets) quote them percent-encoded.
        const quoted = [...new Set(values.flatMap((value) => [value, encodeURIComponent(value)]))];
        const rows: Record<string, number> = {};
        const count = async (table: string, sql: string, values: (string | Date | null)[]) => {
          const [result] = await connection.execute<ResultSetHeader>(sql, values);
          rows[table] = (rows[table] ?? 0) + result.affectedRows;
        };
        await count('users', 'UPDATE users SET email = NULL, username = ?, erased_at = ? WHERE id = ?', [
          redacted,
          erasedAt,
          userId,
        ]);
        // Not sent yet, or in flight now: an attempt still to come finds it closed and sends nothing. One in flight
        // that goes out is recorded delivered; one that fails cannot hand the delivery back for another attempt.
        await count(
          'deliveries',
          "UPDATE deliveries SET state = 'suppressed', reason = ? WHERE user_id = ? AND state IN ('pending', 'sending')",
          [reason, userId],
        );
        await count(
          'deliveries',
          'UPDATE deliveries SET recipient = NULL WHERE user_id = ? AND recipient IS NOT NULL',
          [userId],
        );
        for (const table of ['phone_numbers', 'push_registrations', 'push_sends', 'quiet_hours', 'recipient_digests'])
          await count(table, `DELETE FROM ${table} WHERE user_id = ?`, [userId]);
        if (email !== null) await keepSuppressedAsHash(connection, email, hashAddress(email), count);
        await count(
          'inbound_reports',
          `UPDATE inbound_reports SET raw = '', detail = ?
            WHERE delivery_id IN (SELECT id FROM deliveries WHERE user_id = ?)`,
          [redacted, userId],
        );
        for (const value of quoted) await redactTexts(connection, userId, value, count);
        return { userId, erasedAt: erasedAt.toISOString(), rows, remains };
      });
    },
  };
}

type Count = (table: string, sql: string, values: (string | Date | null)[]) => Promise<void>;

/** The address leaves the suppression list's clear column; its entry, if any, stays as the keyed hash. */
async function keepSuppressedAsHash(connection: PoolConnection, email: string, hash: string, count: Count) {
  // An entry kept as this hash already (another user with the address erased before) gives way to the newer one.
  await connection.execute(
    'DELETE FROM email_suppressions WHERE address_hash = ? AND address IS NULL AND EXISTS (SELECT 1 FROM (SELECT 1 FROM email_suppressions WHERE address = ?) AS clear)',
    [hash, email.toLowerCase()],
  );
  await count(
    'email_suppressions',
    'UPDATE email_suppressions SET address = NULL, address_hash = ?, diagnostic = NULL WHERE address = ?',
    [hash, email.toLowerCase()],
  );
}

/** Replaces a value (address, number, device) wherever a text quotes it: the user's own rows, and shared logs. */
async function redactTexts(connection: PoolConnection, userId: string, value: string, count: Count) {
  const like = `%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const replace = (column: string) => `${column} = REPLACE(${column}, ?, '${redacted}')`;
  await count('deliveries', `UPDATE deliveries SET ${replace('last_error')} WHERE user_id = ? AND last_error LIKE ?`, [
    value,
    userId,
    like,
  ]);
  await count('dead_letters', `UPDATE dead_letters SET ${replace('message')} WHERE user_id = ? AND message LIKE ?`, [
    value,
    userId,
    like,
  ]);
  // Bounce reports not matched to a delivery, suppression diagnostics and audit entries are not kept per user.
  await count(
    'inbound_reports',
    `UPDATE inbound_reports SET raw = '', detail = ? WHERE delivery_id IS NULL AND (raw LIKE ? OR detail LIKE ?)`,
    [redacted, like, like],
  );
  await count('email_suppressions', `UPDATE email_suppressions SET ${replace('diagnostic')} WHERE diagnostic LIKE ?`, [
    value,
    like,
  ]);
  await count(
    'audit_log',
    `UPDATE audit_log SET ${replace('target')}, ${replace('outcome')} WHERE target LIKE ? OR outcome LIKE ?`,
    [value, value, like, like],
  );
}
