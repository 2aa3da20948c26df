import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Scope } from './scope.js';

/** One state-changing action: who took it (`api-key:<id>`, `cli:<user>`), what, on what, and how it ended. */
export interface AuditEntry {
  actor: string;
  /** The customer whose key acted; absent for operators. */
  customerId?: string;
  action: string;
  target: string;
  outcome: string;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  at: string;
}

/** The audit trail in `audit_log`: written after every state-changing action, read by operators and customers. */
export function auditOperations({ pool }: { pool: Pool }) {
  return {
    async record(entry: AuditEntry): Promise<void> {
      await pool.execute('INSERT INTO audit_log (actor, customer_id, action, target, outcome) VALUES (?, ?, ?, ?, ?)', [
        entry.actor.slice(0, 255),
        entry.customerId ?? null,
        entry.action.slice(0, 128),
        entry.target.slice(0, 255),
        entry.outcome.slice(0, 512),
      ]);
    },

    /** Newest first; a customer's scope sees only what its own keys did. */
    async list({ scope, since, limit = 100 }: { scope: Scope; since?: Date; limit?: number }): Promise<AuditRecord[]> {
      const where: string[] = [];
      const values: unknown[] = [];
      if (scope !== undefined) {
        where.push('customer_id = ?');
        values.push(scope);
      }
      if (since !== undefined) {
        where.push('at >= ?');
        values.push(since);
      }
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT id, at, actor, customer_id, action, target, outcome FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        [...values, limit],
      );
      return rows.map((r) => ({
        id: String(r.id),
        at: (r.at as Date).toISOString(),
        actor: String(r.actor),
        ...(r.customer_id === null ? {} : { customerId: String(r.customer_id) }),
        action: String(r.action),
        target: String(r.target),
        outcome: String(r.outcome),
      }));
    },
  };
}
