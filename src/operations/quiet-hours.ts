import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Channel } from '../domain.js';
import { defaultQuietChannels, quietHoursOfRow, quietHoursProblem } from '../quiet-hours.js';
import { BadRequest, NotFound } from './errors.js';
import type { Scope } from './scope.js';
import { userCustomer } from './users.js';

/** A window as given; channels default to SMS and push, failures are held like the rest unless exempt. */
export interface QuietHoursInput {
  timeZone: string;
  startsAt: string;
  endsAt: string;
  channels?: Channel[];
  failuresExempt?: boolean;
}

type StoredQuietHours = ReturnType<typeof quietHoursOfRow>;

/**
 * Users' quiet hours (one window per user, in their time zone): notifications on its channels that fall inside wait
 * until it ends, and the order's next notifications wait behind them. Customers manage their own users' (operators
 * everyone's); a user outside the caller's scope is reported exactly like one that does not exist.
 */
export function quietHoursOperations({ pool }: { pool: Pool }) {
  /** The user's window, or undefined when there is none (the preference page, whose token names the user). */
  async function find(userId: string): Promise<StoredQuietHours | undefined> {
    const [rows] = await pool.execute<RowDataPacket[]>(
      'SELECT user_id, time_zone, starts_at, ends_at, channels, failures_exempt FROM quiet_hours WHERE user_id = ?',
      [userId],
    );
    return rows[0] === undefined ? undefined : quietHoursOfRow(rows[0]);
  }

  async function get(userId: string, scope: Scope): Promise<StoredQuietHours> {
    await userCustomer(pool, userId, scope);
    const stored = await find(userId);
    if (stored === undefined) throw new NotFound(`user ${userId} has no quiet hours`);
    return stored;
  }

  return {
    get,
    find,

    /** Sets (or replaces) the user's window; an invalid one changes nothing. */
    async set(userId: string, input: QuietHoursInput, scope: Scope): Promise<StoredQuietHours> {
      const customerId = await userCustomer(pool, userId, scope);
      const problem = quietHoursProblem(input);
      if (problem !== undefined) throw new BadRequest(`invalid quiet hours: ${problem}`);
      const channels = [...new Set(input.channels ?? defaultQuietChannels)];
      if (channels.length === 0) throw new BadRequest('invalid quiet hours: no channel named');
      await pool.execute(
        `INSERT INTO quiet_hours (user_id, customer_id, time_zone, starts_at, ends_at, channels, failures_exempt)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE time_zone = VALUES(time_zone), starts_at = VALUES(starts_at), ends_at = VALUES(ends_at),
             channels = VALUES(channels), failures_exempt = VALUES(failures_exempt)`,
        [
          userId,
          customerId,
          input.timeZone,
          input.startsAt,
          input.endsAt,
          channels.join(','),
          input.failuresExempt ?? false,
        ],
      );
      return get(userId, scope);
    },

    async remove(userId: string, scope: Scope): Promise<void> {
      await get(userId, scope);
      await pool.execute('DELETE FROM quiet_hours WHERE user_id = ?', [userId]);
    },
  };
}
