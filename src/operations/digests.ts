import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { digestNotificationId, workflowIds } from '../domain.js';
import { cancelDigestSignal, flushDigestSignal } from '../messages.js';
import { Conflict, NotFound } from './errors.js';
import { type Scope, inScope } from './scope.js';

export interface DigestView {
  id: string;
  customerId: string;
  /** `<userId>:<channel>:<endpointId or 0>:<flowId or *>`, the workflow's `DigestKey` search attribute. */
  digestKey: string;
  userId: string;
  channel: string;
  endpointId: string | null;
  /** open (collecting), closed or sending, delivered, dead_lettered, cancelled. */
  state: string;
  items: number;
  maxItems: number;
  openedAt: string;
  /** When its window ends: it is sent then at the latest. */
  closesAt: string;
  settledAt: string | null;
  reason: string | null;
  /** The digest's own notification in `deliveries` (`orderly status digest-<id>`). */
  notificationId: string;
  workflowId: string;
}

export interface DigestDetail extends DigestView {
  /** Its events, in the order they were collected. */
  events: { notificationId: string; eventId: string; orderId: string; status: string }[];
}

const viewOf = (r: RowDataPacket): DigestView => ({
  id: String(r.id),
  customerId: String(r.customer_id),
  digestKey: String(r.digest_key),
  userId: String(r.user_id),
  channel: String(r.channel),
  endpointId: String(r.endpoint_id) === '0' ? null : String(r.endpoint_id),
  state: String(r.state),
  items: Number(r.items),
  maxItems: Number(r.max_items),
  openedAt: (r.opened_at as Date).toISOString(),
  closesAt: (r.closes_at as Date).toISOString(),
  settledAt: r.settled_at === null ? null : (r.settled_at as Date).toISOString(),
  reason: r.reason as string | null,
  notificationId: digestNotificationId(String(r.id)),
  workflowId: workflowIds.digest(String(r.id)),
});

const columns = `id, customer_id, digest_key, user_id, channel, endpoint_id, state, items, max_items, opened_at, closes_at,
  settled_at, reason`;

/**
 * Digests as operators and customers see and act on them: list and show (from `digests`), flush (send it now) and
 * cancel (its events are not sent) through its workflow. A customer's key sees and acts on its own only.
 */
export function digestOperations({ pool, client }: { pool: Pool; client: Client }) {
  async function get(id: string, scope: Scope): Promise<DigestDetail> {
    const [rows] = await pool.execute<RowDataPacket[]>(`SELECT ${columns} FROM digests WHERE id = ?`, [id]);
    const row = rows[0];
    if (row === undefined || !inScope(scope, String(row.customer_id))) throw new NotFound(`there is no digest ${id}`);
    const [items] = await pool.execute<RowDataPacket[]>(
      `SELECT notification_id, event FROM digest_items WHERE digest_id = ? ORDER BY position`,
      [id],
    );
    const events = items.map((item) => {
      const event = (typeof item.event === 'string' ? JSON.parse(item.event) : item.event) as Record<string, string>;
      return {
        notificationId: String(item.notification_id),
        eventId: String(event.eventId),
        orderId: String(event.orderId),
        status: String(event.status),
      };
    });
    return { ...viewOf(row), events };
  }

  /** Signals the digest's workflow while it is still collecting; says so when it no longer is. */
  async function signalOpen(
    id: string,
    scope: Scope,
    signal: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<void>,
  ) {
    const digest = await get(id, scope);
    if (digest.state !== 'open') throw new Conflict(`digest ${id} is ${digest.state}, no longer collecting`);
    try {
      await signal(client.workflow.getHandle(digest.workflowId));
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new Conflict(`digest ${id} has no running workflow`);
      throw error;
    }
    return digest;
  }

  return {
    get,

    /** The latest digests, newest first; `state` narrows them (open: collecting now). */
    async list(scope: Scope, filter: { state?: string; limit?: number } = {}): Promise<DigestView[]> {
      const where = [
        ...(scope === undefined ? [] : ['customer_id = ?']),
        ...(filter.state === undefined ? [] : ['state = ?']),
      ];
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT ${columns} FROM digests ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        [
          ...(scope === undefined ? [] : [scope]),
          ...(filter.state === undefined ? [] : [filter.state]),
          filter.limit ?? 100,
        ],
      );
      return rows.map(viewOf);
    },

    /** Sends the digest now, with the events it holds; the recipient's next events open a new one. */
    flush: (id: string, scope: Scope) => signalOpen(id, scope, (handle) => handle.signal(flushDigestSignal)),

    /** Cancels the digest: its events are recorded cancelled and not sent. */
    cancel: (id: string, reason: string, scope: Scope) =>
      signalOpen(id, scope, (handle) => handle.signal(cancelDigestSignal, { reason })),
  };
}
