import { ApplicationFailure } from '@temporalio/activity';
import { type ChannelProviders, type OrderEvent, type Recipient, type TemplateId, notificationKey } from '../domain.js';
import type { createEmailActivities } from './email.js';
import type { createLedgerActivities } from './ledger.js';
import type { createOrderChainActivities } from './order-chain.js';
import type { createPreferenceActivities } from './preferences.js';

export interface AttemptNotificationInput {
  event: OrderEvent;
  template: TemplateId;
  /** This notification's workflow id: settled here when the first attempts settle everything. */
  workflowId: string;
  /** The order's previous notification (workflow id): nothing is done until it has settled. */
  predecessor?: string;
  /** Ask Temporal too whether the predecessor is still running (a recheck after a long wait). */
  askTemporal?: boolean;
  /** False once the notification is cancelled: the audience is recorded, nothing is sent. */
  send: boolean;
}

/** An email whose first attempt failed for good: the workflow dead-letters it. */
export interface FailedEmail {
  userId: string;
  errorType: string;
  message: string;
  attempts: number;
}

export type NotificationAttempt =
  /** The predecessor has not settled yet. */
  | { kind: 'waiting' }
  /** The customer is on hold (`orderly pause`). */
  | { kind: 'held' }
  | {
      kind: 'attempted';
      /** Still to deliver: webhooks, and emails whose first attempt failed in a way that may pass. */
      remaining: Recipient[];
      delivered: number;
      suppressed: number;
      failed: FailedEmail[];
      /** Everything was delivered or suppressed: the notification is settled and its successors woken. */
      settled: boolean;
      /** The SMS and push providers to use, when SMS or push recipients remain (recorded here, so replays agree). */
      providers?: ChannelProviders;
    };

/**
 * The happy path of one notification in one local activity, so that it costs one workflow task: check that the
 * order's previous notification has settled, find the audience, record it, make every email's first attempt,
 * record what was delivered and, when that settles everything, wake the order's next notification. The ledger's
 * writes are idempotent, so running this again (a retry, a worker that died) sends nobody twice beyond the mail
 * that was in flight.
 */
export function createFirstAttemptActivities({
  chain,
  preferences,
  ledger,
  email,
  providers = { sms: [], push: [] },
}: {
  /** The configured SMS providers (in failover order) and push providers. */
  providers?: ChannelProviders;
  chain: ReturnType<typeof createOrderChainActivities>;
  preferences: ReturnType<typeof createPreferenceActivities>;
  ledger: ReturnType<typeof createLedgerActivities>;
  email: ReturnType<typeof createEmailActivities>;
}) {
  async function firstAttempt(
    input: AttemptNotificationInput,
    recipient: Recipient,
  ): Promise<'delivered' | 'retry' | FailedEmail> {
    const { event, template } = input;
    try {
      const sent = await email.sendEmail({
        template,
        event,
        userId: recipient.userId,
        username: recipient.username,
        to: recipient.email,
      });
      await ledger.recordDelivered({
        notificationId: notificationKey(event),
        userId: recipient.userId,
        channel: recipient.channel,
        ...sent,
      });
      return 'delivered';
    } catch (error) {
      if (!(error instanceof ApplicationFailure && error.nonRetryable)) return 'retry';
      const attempts = (error.details?.[0] as { attempts?: number } | undefined)?.attempts ?? 1;
      return { userId: recipient.userId, errorType: error.type ?? 'Error', message: error.message, attempts };
    }
  }

  return {
    async attemptNotification(input: AttemptNotificationInput): Promise<NotificationAttempt> {
      if (
        input.predecessor !== undefined &&
        (await chain.predecessorState(input.predecessor, { askTemporal: input.askTemporal ?? false })) === 'running'
      ) {
        return { kind: 'waiting' };
      }
      const audience = await preferences.findAudience(input.event);
      if (audience.held && input.send) return { kind: 'held' };
      const toSend = await ledger.recordAudience(input.event, input.template, audience.recipients, audience.suppressed);
      const emails = input.send ? toSend.filter((r) => r.channel === 'email') : [];
      const results = await Promise.all(emails.map((r) => firstAttempt(input, r)));
      const done = new Set(emails.filter((_, i) => results[i] !== 'retry'));
      const remaining = toSend.filter((r) => !done.has(r));
      const failed = results.filter((r): r is FailedEmail => typeof r === 'object');
      // The usual case: nothing left to do in the workflow but complete.
      const settled = input.send && remaining.length === 0 && failed.length === 0;
      if (settled) await chain.settleNotification(input.workflowId);
      // Recipients the ledger already had as delivered (this activity ran before) count as delivered.
      const delivered = results.filter((r) => r === 'delivered').length + audience.recipients.length - toSend.length;
      const suppressed = audience.suppressed.length;
      // SMS and push go through the providers' task queues (their rate limits are global), never a first attempt here.
      const viaProviders = remaining.some((r) => r.channel === 'sms' || r.channel === 'push');
      return {
        kind: 'attempted',
        remaining,
        delivered,
        suppressed,
        failed,
        settled,
        ...(viaProviders ? { providers } : {}),
      };
    },
  };
}
