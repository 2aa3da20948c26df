import type { Pool, RowDataPacket } from 'mysql2/promise';

/** A recipient's own digest choice spans a day: one mail a day per flow. */
export const dailyDigestWindowS = 86_400;

/** The flow scope of a choice: a flow id, or `*` for every flow. */
export const flowScopeOf = (flowId: string | null): string => flowId ?? '*';

/**
 * The digests a recipient chose on their preference page (`recipient_digests`): their emails of a flow, collected
 * into one mail a day. The audience lookup (src/activities/preferences.ts) digests what they cover.
 */
export function recipientDigestOperations({ pool }: { pool: Pool }) {
  async function chosen(userId: string): Promise<Set<string>> {
    const [rows] = await pool.execute<RowDataPacket[]>(
      "SELECT flow_scope FROM recipient_digests WHERE user_id = ? AND channel = 'email'",
      [userId],
    );
    return new Set(rows.map((row) => String(row.flow_scope)));
  }

  return {
    chosen,

    /**
     * Daily digests on for the flow scopes in `on`, off for the others in `shown` (the ones the form showed); the
     * scopes turned on and off.
     */
    async choose(
      userId: string,
      shown: ReadonlySet<string>,
      on: ReadonlySet<string>,
    ): Promise<{ on: string[]; off: string[] }> {
      const before = await chosen(userId);
      const turnOn = [...shown].filter((scope) => on.has(scope) && !before.has(scope));
      const turnOff = [...shown].filter((scope) => !on.has(scope) && before.has(scope));
      for (const scope of turnOn)
        await pool.execute(
          "INSERT IGNORE INTO recipient_digests (user_id, channel, flow_scope, window_s) VALUES (?, 'email', ?, ?)",
          [userId, scope, dailyDigestWindowS],
        );
      for (const scope of turnOff)
        await pool.execute("DELETE FROM recipient_digests WHERE user_id = ? AND channel = 'email' AND flow_scope = ?", [
          userId,
          scope,
        ]);
      return { on: turnOn, off: turnOff };
    },
  };
}
