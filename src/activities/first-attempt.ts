import { ApplicationFailure } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { type OrderEvent, type Predecessor, type Recipient, type TemplateId, notificationKey } from '../domain.js';
import type { createEmailActivities } from './email.js';
import type { createLedgerActivities } from './ledger.js';
import type { createPreferenceActivities } from './preferences.js';

export interface AttemptNotificationInput {
  event: OrderEvent;
  template: TemplateId;
  /** The order's previous notification; nothing is done while it runs. */
  predecessor?: Predecessor;
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
  /** The predecessor is still running, or (submitted moments ago by another process) not started yet. */
  | { kind: 'waiting'; predecessor: 'running' | 'not-started' }
  /** The customer is on hold (`orderly pause`). */
  | { kind: 'held' }
  | {
      kind: 'attempted';
      /** Still to deliver: webhooks, and emails whose first attempt failed in a way that may pass. */
      remaining: Recipient[];
      delivered: number;
      suppressed: number;
      failed: FailedEmail[];
    };

/**
 * A predecessor that Temporal does not know was either submitted moments ago and not started yet, or finished
 * long ago and is gone from retention (or its submitter died before starting it): this long tells them apart.
 */
const notStartedGraceMs = 60_000;

/**
 * The happy path of one notification in one local activity, so that it costs one workflow task: wait for the
 * order's previous notification, find the audience, record it, make every email's first attempt and record
 * what was delivered. The ledger's writes are idempotent, so running this again (a retry, a worker that died)
 * sends nobody twice beyond the mail that was in flight.
 */
export function createFirstAttemptActivities({
  client,
  preferences,
  ledger,
  email,
}: {
  client: Client;
  preferences: ReturnType<typeof createPreferenceActivities>;
  ledger: ReturnType<typeof createLedgerActivities>;
  email: ReturnType<typeof createEmailActivities>;
}) {
  async function predecessorState(predecessor: Predecessor): Promise<'settled' | 'running' | 'not-started'> {
    try {
      const handle = client.workflow.getHandle(predecessor.workflowId);
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') return 'settled';
      // An order workflow of the previous design (until they are drained): busy while its queue holds events.
      if (predecessor.workflowId.startsWith('order:')) return (await handle.query<string[]>('pendingEvents')).length > 0 ? 'running' : 'settled';
      return 'running';
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      return Date.now() - predecessor.submittedAtMs < notStartedGraceMs ? 'not-started' : 'settled';
    }
  }

  async function firstAttempt(input: AttemptNotificationInput, recipient: Recipient): Promise<'delivered' | 'retry' | FailedEmail> {
    const { event, template } = input;
    try {
      const sent = await email.sendEmail({ template, event, userId: recipient.userId, username: recipient.username, to: recipient.email });
      await ledger.recordDelivered({ notificationId: notificationKey(event), userId: recipient.userId, channel: recipient.channel, ...sent });
      return 'delivered';
    } catch (error) {
      if (!(error instanceof ApplicationFailure && error.nonRetryable)) return 'retry';
      const attempts = (error.details?.[0] as { attempts?: number } | undefined)?.attempts ?? 1;
      return { userId: recipient.userId, errorType: error.type ?? 'Error', message: error.message, attempts };
    }
  }

  return {
    async attemptNotification(input: AttemptNotificationInput): Promise<NotificationAttempt> {
      if (input.predecessor !== undefined) {
        const state = await predecessorState(input.predecessor);
        if (state !== 'settled') return { kind: 'waiting', predecessor: state };
      }
      const audience = await preferences.findAudience(input.event);
      if (audience.held && input.send) return { kind: 'held' };
      const toSend = await ledger.recordAudience(input.event, input.template, audience.recipients, audience.suppressed);
      const emails = input.send ? toSend.filter((r) => r.endpoint === undefined) : [];
      const results = await Promise.all(emails.map((r) => firstAttempt(input, r)));
      const settled = new Set(emails.filter((_, i) => results[i] !== 'retry'));
      return {
        kind: 'attempted',
        remaining: toSend.filter((r) => !settled.has(r)),
        delivered: results.filter((r) => r === 'delivered').length,
        suppressed: audience.suppressed.length,
        failed: results.filter((r): r is FailedEmail => typeof r === 'object'),
      };
    },
  };
}
