import type { Pool, RowDataPacket } from 'mysql2/promise';
import { Conflict, NotFound } from './errors.js';
import type { Scope } from './scope.js';

/** An address on the suppression list (`email_suppressions`) as operators see it. */
export interface SuppressionRecord {
  id: string;
  /** Null once its recipient was erased: the entry is kept as the address's keyed hash, still suppressing it. */
  address: string | null;
  /** What put it there: one permanent failure, or transient ones counted up to BOUNCE_TRANSIENT_LIMIT. */
  reason: 'permanent' | 'transient';
  /**
   * The last reported status (5.1.1, 4.2.2) and diagnostic. The diagnostic is what a server said about one customer's
   * mail: a customer's key sees it only when the last bounce was of its own mail (null otherwise).
   */
  statusCode: string;
  diagnostic: string | null;
  transientCount: number;
  /** False while transient failures are still being counted: mail still goes to it. */
  suppressed: boolean;
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface SuppressionFilter {
  /** Only addresses of this customer's users. */
  customerId?: string;
  address?: string;
  reason?: 'permanent' | 'transient';
  /** Default: suppressed ones only; `all` adds addresses whose transient failures are still being counted. */
  state?: 'suppressed' | 'all';
  /** Only those last reported since. */
  since?: Date;
  /** Pagination: ids after this one, in id order. */
  after?: string;
  /** At most this many (default 100). */
  limit?: number;
}

/** A failure a bounce reported, as the suppression list keeps it. */
export interface ReportedFailure {
  status: string;
  diagnostic: string | undefined;
}

const toRecord = (r: RowDataPacket, scope: Scope): SuppressionRecord => ({
  id: String(r.id),
  address: r.address === null ? null : String(r.address),
  reason: r.reason as SuppressionRecord['reason'],
  statusCode: String(r.status_code),
  diagnostic: scope === undefined || String(r.last_customer_id) === scope ? (r.diagnostic as string | null) : null,
  transientCount: Number(r.transient_count),
  suppressed: Boolean(r.suppressed),
  firstSeenAt: (r.first_seen_at as Date).toISOString(),
  lastSeenAt: (r.last_seen_at as Date).toISOString(),
});

/** An address belongs to a customer when one of its users has it (users' addresses are not unique across customers). */
const ownedBy = 'EXISTS (SELECT 1 FROM users u WHERE u.email = s.address AND u.customer_id = ?)';

/** Entries in id order; a customer's scope sees only addresses of its own users. */
async function listSuppressions(pool: Pool, filter: SuppressionFilter, scope: Scope): Promise<SuppressionRecord[]> {
  // A customer asking for another customer's finds none, as if there were none.
  if (scope !== undefined && filter.customerId !== undefined && filter.customerId !== scope) return [];
  const where: string[] = [];
  const values: (string | number | Date)[] = [];
  const add = (clause: string, value?: string | number | Date) => {
    where.push(clause);
    if (value !== undefined) values.push(value);
  };
  const customerId = scope ?? filter.customerId;
  if (customerId !== undefined) add(ownedBy, customerId);
  if ((filter.state ?? 'suppressed') === 'suppressed') add('s.suppressed');
  if (filter.address !== undefined) add('s.address = ?', filter.address.toLowerCase());
  if (filter.reason !== undefined) add('s.reason = ?', filter.reason);
  if (filter.since !== undefined) add('s.last_seen_at >= ?', filter.since);
  if (filter.after !== undefined) add('s.id > ?', filter.after);
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT s.* FROM email_suppressions s ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.id LIMIT ?`,
    [...values, filter.limit ?? 100],
  );
  return rows.map((row) => toRecord(row, scope));
}

/**
 * The suppression list (`email_suppressions`, one row per address, not per tenant): written by the bounce listener,
 * listed and cleared by operators (every address) and customers (the addresses of their own users).
 */
export function suppressionOperations({ pool }: { pool: Pool }) {
  const list = (filter: SuppressionFilter, scope: Scope) => listSuppressions(pool, filter, scope);
  return {
    list,

    /**
     * Takes an address off the list (its transient count with it), so mail goes to it again; the removed entry.
     * A customer may clear only an address of its own users, and not one that users of another customer have too:
     * clearing it would change what that customer's users are sent, so an operator must (409 says so).
     */
    async clear(address: string, scope: Scope): Promise<SuppressionRecord> {
      const [entry] = await list({ address, state: 'all', limit: 1 }, scope);
      if (entry === undefined) throw new NotFound(`there is no suppression of ${address}`);
      if (scope !== undefined) {
        const [others] = await pool.execute<RowDataPacket[]>(
          'SELECT 1 FROM users WHERE email = ? AND customer_id <> ? LIMIT 1',
          [entry.address, scope],
        );
        if (others.length > 0)
          throw new Conflict(`${entry.address} is shared with users outside this customer; an operator must clear it`);
      }
      await pool.execute('DELETE FROM email_suppressions WHERE id = ?', [entry.id]);
      return entry;
    },

    /**
     * Records a bounce of the address: a permanent failure (5.x.x) suppresses it at once; a transient one (4.x.x)
     * is counted and suppresses it at `transientLimit`. A transient failure never overwrites a permanent one's
     * status and diagnostic.
     */
    async recordBounce(
      address: string,
      failure: ReportedFailure,
      transientLimit: number,
      customerId: string,
    ): Promise<void> {
      const permanent = failure.status.startsWith('5');
      // Assignments run left to right, so `suppressed` is decided from the count before its increment.
      await pool.execute(
        `INSERT INTO email_suppressions (address, reason, status_code, diagnostic, transient_count, suppressed, last_customer_id)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE
           suppressed = suppressed OR ? OR transient_count + 1 >= ?,
           status_code = IF(reason = 'permanent' AND NOT ?, status_code, VALUES(status_code)),
           last_customer_id = IF(reason = 'permanent' AND NOT ?, last_customer_id, VALUES(last_customer_id)),
           diagnostic = IF(reason = 'permanent' AND NOT ?, diagnostic, VALUES(diagnostic)),
           transient_count = transient_count + IF(?, 0, 1),
           reason = IF(?, 'permanent', reason),
           last_seen_at = CURRENT_TIMESTAMP(6)`,
        [
          address,
          permanent ? 'permanent' : 'transient',
          failure.status,
          failure.diagnostic ?? null,
          permanent ? 0 : 1,
          permanent || transientLimit <= 1,
          customerId,
          permanent,
          transientLimit,
          permanent,
          permanent,
          permanent,
          permanent,
          permanent,
        ],
      );
    },
  };
}
