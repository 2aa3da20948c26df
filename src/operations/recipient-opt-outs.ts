import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { optOutReason } from '../domain.js';
import type { LinkScope } from '../recipient-links.js';
import {
  type Changes,
  type Choice,
  type OptOutScope,
  type Preferences,
  type SubscribedScope,
  changesBetween,
  planChoice,
  preferencesOf,
} from '../recipient-preferences.js';

/** Where a recipient's opt-out came from: a one-click unsubscribe, the preference page, or a complaint. */
export type OptOutSource = 'one-click' | 'preferences' | 'complaint';

/** A user's preference page: their name (undefined when there is no such user) and what it shows. */
export interface RecipientPreferences {
  username: string | undefined;
  preferences: Preferences;
}

type Database = Pool | PoolConnection;

/**
 * What recipients turned off themselves (`recipient_opt_outs`), apart from the customer-managed subscriptions.
 * The audience lookup (src/activities/preferences.ts) suppresses what they cover. Every query names one user: the
 * one a recipient's link was signed for.
 */
export function recipientOptOutOperations({ pool }: { pool: Pool }) {
  return {
    /**
     * Records that the scope's user turned it off. Idempotent: the scope's row is kept as it was (with its first
     * date) when it exists already, since unsubscribing twice is one choice.
     */
    async record(scope: LinkScope, source: OptOutSource): Promise<void> {
      await pool.execute(
        `INSERT INTO recipient_opt_outs (user_id, channel, flow_id, status, source) VALUES (?, ?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE id = id`,
        [scope.userId, scope.channel, scope.flowId, scope.status, source],
      );
      await suppressUnsent(pool, scope);
    },

    /** The preference page of `userId`. */
    async preferences(userId: string): Promise<RecipientPreferences> {
      const { username, subscriptions, optOuts } = await readUser(pool, userId);
      return { username, preferences: preferencesOf(subscriptions, optOuts) };
    },

    /**
     * Saves what the user chose on their preference page, with source 'preferences', and says what changed. One
     * save of a user at a time (the user's row is locked), so two saves never build on the same old state.
     */
    async choose(userId: string, choice: Choice): Promise<RecipientPreferences & { changes: Changes }> {
      const connection = await pool.getConnection();
      try {
        await connection.beginTransaction();
        await connection.execute('SELECT id FROM users WHERE id = ? FOR UPDATE', [userId]);
        const before = await readUser(connection, userId);
        const plan = planChoice(before.subscriptions, before.optOuts, choice);
        if (plan.remove.length > 0)
          await connection.query('DELETE FROM recipient_opt_outs WHERE user_id = ? AND id IN (?)', [
            userId,
            plan.remove,
          ]);
        for (const o of plan.add) {
          await connection.execute(
            `INSERT INTO recipient_opt_outs (user_id, channel, flow_id, status, source) VALUES (?, ?, ?, ?, 'preferences')
               ON DUPLICATE KEY UPDATE id = id`,
            [userId, o.channel, o.flowId, o.status],
          );
          await suppressUnsent(connection, { userId, ...o });
        }
        const after = await readUser(connection, userId);
        await connection.commit();
        const preferences = preferencesOf(after.subscriptions, after.optOuts);
        const changes = changesBetween(preferencesOf(before.subscriptions, before.optOuts), preferences);
        return { username: after.username, preferences, changes };
      } catch (error) {
        await connection.rollback();
        throw error;
      } finally {
        connection.release();
      }
    },
  };
}

/**
 * What an opt-out covers and is not sent yet (waiting for a retry, quiet hours, or in flight) is suppressed with the
 * opt-out's reason: an attempt still to come finds it closed and sends nothing. A send already on the wire may go out.
 */
async function suppressUnsent(db: Database, scope: LinkScope): Promise<void> {
  const [[optOut]] = await db.execute<RowDataPacket[]>(
    `SELECT source, created_at FROM recipient_opt_outs
      WHERE user_id = ? AND channel = ? AND flow_id <=> ? AND status = ?`,
    [scope.userId, scope.channel, scope.flowId, scope.status],
  );
  if (optOut === undefined) return;
  await db.execute(
    `UPDATE deliveries d JOIN order_events e ON e.id = d.event_id
        SET d.state = 'suppressed', d.reason = ?
      WHERE d.user_id = ? AND d.channel = ? AND d.state IN ('pending', 'sending')
        AND (? IS NULL OR e.flow_id = ?) AND (? = 'both' OR e.status = ?)`,
    [
      optOutReason(String(optOut.source), optOut.created_at as Date),
      scope.userId,
      scope.channel,
      scope.flowId,
      scope.flowId,
      scope.status,
      scope.status,
    ],
  );
}

/** A user's name, unmuted subscriptions and opt-outs. */
async function readUser(db: Database, userId: string) {
  const [[users], [subscriptions], [optOuts]] = await Promise.all([
    db.execute<RowDataPacket[]>('SELECT username FROM users WHERE id = ?', [userId]),
    db.execute<RowDataPacket[]>(
      'SELECT flow_id, on_success, on_failure, channel FROM subscriptions WHERE user_id = ? AND NOT muted ORDER BY id',
      [userId],
    ),
    db.execute<RowDataPacket[]>(
      'SELECT id, channel, flow_id, status FROM recipient_opt_outs WHERE user_id = ? ORDER BY id',
      [userId],
    ),
  ]);
  return {
    username: users[0]?.username as string | undefined,
    subscriptions: subscriptions.map((r): SubscribedScope => ({
      flowId: r.flow_id as string | null,
      onSuccess: Boolean(r.on_success),
      onFailure: Boolean(r.on_failure),
      channel: r.channel as SubscribedScope['channel'],
    })),
    optOuts: optOuts.map((r): OptOutScope => ({
      id: String(r.id),
      channel: r.channel as OptOutScope['channel'],
      flowId: r.flow_id as string | null,
      status: r.status as OptOutScope['status'],
    })),
  };
}
