import { Context } from '@temporalio/activity';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { type OrderEvent, type TemplateId, notificationKey } from '../domain.js';
import type { SenderMetrics } from '../metrics.js';
import { InvalidContact, parsePhoneNumber } from '../providers/contacts.js';
import { fitToSegments } from '../providers/sms-text.js';
import { ProviderError, type SmsProvider } from '../providers/types.js';
import { renderSmsText } from '../templates/text.js';
import { InvalidPhoneNumber, toFailure } from './errors.js';
import { createDeliveryClaims } from './ledger.js';

/** One SMS of one notification to one user. Ids only: the number is read at send time, never carried in history. */
export interface SendSmsInput {
  event: OrderEvent;
  template: TemplateId;
  userId: string;
  username: string;
  /** Attempts already made at other providers, so the ledger counts every attempt. */
  previousAttempts?: number;
}

export type SmsOutcome =
  /** The provider accepted the message; its receipt will say whether it reached the phone. */
  | { kind: 'sent'; provider: string; providerMessageId: string; attempts: number }
  /** Nobody to send to: the user has no phone number. */
  | { kind: 'suppressed'; reason: string; attempts: number };

/**
 * Sends SMS through one provider; its worker polls that provider's task queue only, so the queue's rate limit is the
 * provider's. The text is the template's, cut to `maxSegments`. A number that is not valid E.164 fails for good
 * before any request; the provider's failures become `ProviderUnavailable` (retried, then failed over by the
 * workflow), `RecipientRejected` and `ProviderRejected` (neither retried nor failed over).
 */
export function createSmsActivities({
  provider,
  pool,
  maxSegments,
  statusCallbackUrl,
  metrics,
}: {
  provider: SmsProvider;
  pool: Pool;
  maxSegments: number;
  /** Where the provider posts its delivery receipts (Orderly's API); none when unset. */
  statusCallbackUrl?: string;
  metrics?: SenderMetrics;
}) {
  const labels = { channel: 'sms', provider: provider.name };
  // No provider here takes an idempotency key: each send claims its delivery first, so two never go at once.
  const claims = createDeliveryClaims({ pool });
  return {
    async sendSms(input: SendSmsInput): Promise<SmsOutcome> {
      const attempts = (input.previousAttempts ?? 0) + Context.current().info.attempt;
      const [rows] = await pool.execute<RowDataPacket[]>(
        'SELECT e164 FROM phone_numbers WHERE user_id = ? AND customer_id = ?',
        [input.userId, input.event.customerId],
      );
      const stored = rows[0]?.e164 as string | undefined;
      if (stored === undefined) return { kind: 'suppressed', reason: 'no phone number', attempts };
      const to = validNumber(input.userId, stored, attempts);
      const body = fitToSegments(renderSmsText(input.template, input), maxSegments);
      const delivery = { notificationId: notificationKey(input.event), userId: input.userId, channel: 'sms' };
      const claim = await claims.claim(delivery);
      if (claim.kind === 'sent')
        return {
          kind: 'sent',
          provider: claim.provider ?? provider.name,
          providerMessageId: claim.providerMessageId ?? 'sent by an earlier attempt',
          attempts,
        };
      try {
        const sent = await claims.whileClaimed(delivery, claim.attemptId, () =>
          provider.send({ to, body, ...(statusCallbackUrl ? { statusCallbackUrl } : {}) }),
        );
        metrics?.attempts.inc({ ...labels, result: 'sent' });
        metrics?.latency.observe(labels, (Date.now() - Date.parse(input.event.occurredAt)) / 1000);
        return { kind: 'sent', provider: provider.name, providerMessageId: sent.messageId, attempts };
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        metrics?.attempts.inc({ ...labels, result: error.name });
        Context.current().log.warn('sms not sent', {
          notificationId: notificationKey(input.event),
          userId: input.userId,
          provider: provider.name,
          attempt: attempts,
          reason: error.message,
        });
        throw toFailure(error, [{ attempts, provider: provider.name }]);
      }
    },
  };
}

/** The stored number as E.164, or a non-retryable failure that names the user, not the whole number. */
function validNumber(userId: string, stored: string, attempts: number): string {
  try {
    return parsePhoneNumber(stored);
  } catch (error) {
    if (!(error instanceof InvalidContact)) throw error;
    const masked = stored.length > 5 ? `${stored.slice(0, 3)}…${stored.slice(-2)}` : '…';
    throw toFailure(new InvalidPhoneNumber(userId, error.message.split(stored).join(masked)), [{ attempts }]);
  }
}
