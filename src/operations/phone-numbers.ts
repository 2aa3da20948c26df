import { isSupportedCountry } from 'libphonenumber-js/max';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { InvalidContact, parsePhoneNumber } from '../providers/contacts.js';
import { BadRequest, NotFound } from './errors.js';
import type { Scope } from './scope.js';
import { userCustomer } from './users.js';

/** A number as given: international (`+44 7400 123456`), or national with its country (`07400 123456`, `GB`). */
export interface PhoneNumberInput {
  number: string;
  /** ISO 3166-1 alpha-2; needed only for national formats. */
  country?: string;
}

const phoneNumberOf = (r: RowDataPacket) => ({
  userId: String(r.user_id),
  customerId: String(r.customer_id),
  /** E.164, as every SMS provider takes it. */
  number: String(r.e164),
  /** When this number was set (a change of number sets it again). */
  since: (r.created_at as Date).toISOString(),
});

/** A user's mobile number as the API and the CLI show it. */
export type PhoneNumber = ReturnType<typeof phoneNumberOf>;

/** The number in E.164, or {@link BadRequest} naming what is wrong with it. */
export function normalisePhoneNumber({ number, country }: PhoneNumberInput): string {
  if (country !== undefined && !isSupportedCountry(country))
    throw new BadRequest(`invalid country: "${country}" is not an ISO 3166-1 country code with a numbering plan`);
  try {
    return parsePhoneNumber(number, country);
  } catch (error) {
    if (error instanceof InvalidContact) throw new BadRequest(error.message);
    throw error;
  }
}

/**
 * Users' mobile numbers (one per user, stored in E.164), where SMS notifications go; customers manage their own
 * users' (operators everyone's). A user outside the caller's scope is reported exactly like one that does not exist.
 */
export function phoneNumberOperations({ pool }: { pool: Pool }) {
  async function get(userId: string, scope: Scope): Promise<PhoneNumber> {
    await userCustomer(pool, userId, scope);
    const [rows] = await pool.execute<RowDataPacket[]>(
      'SELECT user_id, customer_id, e164, created_at FROM phone_numbers WHERE user_id = ?',
      [userId],
    );
    if (rows[0] === undefined) throw new NotFound(`user ${userId} has no phone number`);
    return phoneNumberOf(rows[0]);
  }

  return {
    get,

    /** Sets (or replaces) the user's number; an invalid one changes nothing. */
    async set(userId: string, input: PhoneNumberInput, scope: Scope): Promise<PhoneNumber> {
      const customerId = await userCustomer(pool, userId, scope);
      const e164 = normalisePhoneNumber(input);
      // created_at is assigned before e164, so it still compares against the old number.
      await pool.execute(
        `INSERT INTO phone_numbers (customer_id, user_id, e164) VALUES (?, ?, ?)
           ON DUPLICATE KEY UPDATE created_at = IF(e164 = VALUES(e164), created_at, CURRENT_TIMESTAMP(6)), e164 = VALUES(e164)`,
        [customerId, userId, e164],
      );
      return get(userId, scope);
    },

    async remove(userId: string, scope: Scope): Promise<void> {
      await get(userId, scope);
      await pool.execute('DELETE FROM phone_numbers WHERE user_id = ?', [userId]);
    },
  };
}
