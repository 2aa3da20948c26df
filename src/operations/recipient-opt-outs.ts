import type { Pool } from 'mysql2/promise';
import type { LinkScope } from '../recipient-links.js';

/** Where a recipient's opt-out came from: a one-click unsubscribe now; a preference page or a complaint later. */
export type OptOutSource = 'one-click' | 'preferences' | 'complaint';

/**
 * What recipients turned off themselves (`recipient_opt_outs`), apart from the customer-managed subscriptions.
 * The audience lookup (src/activities/preferences.ts) suppresses what they cover.
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
    },
  };
}
