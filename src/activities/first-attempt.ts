import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/activity';
import {
  type Channel,
  type ChannelProviders,
  type OrderEvent,
  type Recipient,
  type TemplateId,
  notificationKey,
  webhookFailures,
  webhookMessageId,
} from '../domain.js';
import { retryDelayMs } from '../webhook-policy.js';
import type { SentEmail, createEmailActivities } from './email.js';
import type { createLedgerActivities } from './ledger.js';
import type { createOrderChainActivities } from './order-chain.js';
import type { createPreferenceActivities } from './preferences.js';
import type { createCompletionActivities } from './completions.js';
import type { DigestRecipient, createDigestActivities } from './digests.js';
import type { createDirectWebhooks } from './webhook.js';

export interface AttemptNotificationInput {
  event: OrderEvent;
  template: TemplateId;
  /** This notification's workflow id: settled here when the first attempts settle everything. */
  workflowId: string;
  /** Ask Temporal too whether the predecessor is still running (a recheck after a long wait). */
  askTemporal?: boolean;
  /** False once the notification is cancelled: the audience is recorded, nothing is sent. */
  send: boolean;
}

/** A delivery whose first attempt failed for good: the workflow dead-letters it. */
export interface FailedFirstAttempt {
  userId: string;
  /** Absent in results of earlier versions, which failed only emails here. */
  channel?: Channel;
  endpointId?: string;
  errorType: string;
  message: string;
  attempts: number;
}

export type NotificationAttempt =
  /** The predecessor has not settled yet; look again after `recheckAfterS` when it may never have started. */
  | { kind: 'waiting'; recheckAfterS?: number; predecessor?: string }
  /** The customer is on hold (`orderly pause`). */
  | { kind: 'held' }
  | {
      kind: 'attempted';
      /** Still to deliver: webhooks not delivered directly, and emails whose first attempt failed in a way that may pass. */
      remaining: Recipient[];
      delivered: number;
      suppressed: number;
      /** Collected into digests (absent in results of earlier versions, which had none). */
      digested?: number;
      failed: FailedFirstAttempt[];
      /** Everything was delivered or suppressed: the notification is settled and its successors woken. */
      settled: boolean;
      /** This event's success completes its order: the workflow sends "order complete" next (seed 002). */
      completesOrder?: true;
      /** The SMS and push providers to use, when SMS or push recipients remain (recorded here, so replays agree). */
      providers?: ChannelProviders;
    };

/**
 * The most emails (and webhooks) one first attempt sends (at once): a notification to more recipients sends the rest
 * durably, so the local activity stays short (a cancel waits at most for this batch) and its connections are shared.
 */
const firstAttemptBatch = 20;

/** How long a first attempt keeps trying to record a mail it sent (well within its local activity's timeout). */
const recordForMs = 20_000;

/** Retries a ledger write (the database restarting) with backoff for up to {@link recordForMs}, then gives up. */
async function untilRecorded(record: () => Promise<void>): Promise<void> {
  const giveUpAt = Date.now() + recordForMs;
  for (let delayMs = 200; ; delayMs = Math.min(delayMs * 2, 2_000)) {
    try {
      return await record();
    } catch (error) {
      if (Date.now() + delayMs > giveUpAt) throw error;
      await sleep(delayMs);
    }
  }
}

/**
 * Who gets a first attempt here: emails, and webhooks when they may go directly, a batch of each; not SMS and push
 * (their providers' task queues hold the rate limits), nor recipients in their quiet hours (they wait in the workflow).
 */
function firstAttemptsOf(toSend: Recipient[], directWebhooks: boolean): Recipient[] {
  const now = toSend.filter((r) => r.quietUntil === undefined && r.digest === undefined);
  return [
    ...now.filter((r) => r.channel === 'email').slice(0, firstAttemptBatch),
    ...(directWebhooks ? now.filter((r) => r.endpoint).slice(0, firstAttemptBatch) : []),
  ];
}

/** What one first attempt came to: delivered, for the workflow to go on with (as it now stands), or failed for good. */
type FirstAttemptOutcome = 'delivered' | { handOver: Recipient } | FailedFirstAttempt;

/** One email's first attempt: sent, worth a durable retry, or failed for good. */
async function trySend(
  email: ReturnType<typeof createEmailActivities>,
  { event, template }: AttemptNotificationInput,
  recipient: Recipient,
): Promise<SentEmail | 'retry' | FailedFirstAttempt> {
  try {
    return await email.sendEmail({
      template,
      event,
      userId: recipient.userId,
      username: recipient.username,
      to: recipient.email,
    });
  } catch (error) {
    if (!(error instanceof ApplicationFailure && error.nonRetryable)) return 'retry';
    const attempts = (error.details?.[0] as { attempts?: number } | undefined)?.attempts ?? 1;
    return {
      userId: recipient.userId,
      channel: recipient.channel,
      errorType: error.type ?? 'Error',
      message: error.message,
      attempts,
    };
  }
}

/**
 * A webhook's direct attempt. Not made (the endpoint failing or at a limit): the endpoint's workflow takes it as it is.
 * Failed in a way that may pass: the workflow takes it as its first retry. Refused for good: dead-lettered.
 */
async function directWebhook(
  webhooks: ReturnType<typeof createDirectWebhooks>,
  ledger: ReturnType<typeof createLedgerActivities>,
  { event, template }: AttemptNotificationInput,
  recipient: Recipient,
  endpoint: NonNullable<Recipient['endpoint']>,
): Promise<FirstAttemptOutcome> {
  const messageId = webhookMessageId(notificationKey(event), endpoint.id);
  const attempt = await webhooks
    .attemptDirect({ endpointId: endpoint.id, messageId, content: { event, template }, policy: endpoint.policy })
    // The endpoint's state could not be read (the database restarting): the endpoint's workflow takes it.
    .catch(() => undefined);
  if (attempt === undefined) return { handOver: recipient };
  if (attempt.kind === 'retry') {
    const retryAt = Date.now() + (attempt.retryAfterMs ?? retryDelayMs(endpoint.policy, 1, Math.random));
    return { handOver: { ...recipient, directAttempt: { retryAt, countsAsFailure: attempt.countsAsFailure } } };
  }
  if (attempt.kind !== 'delivered') {
    const { userId, channel } = recipient;
    const errorType = webhookFailures[attempt.kind];
    return { userId, channel, endpointId: endpoint.id, errorType, message: attempt.message, attempts: 1 };
  }
  await untilRecorded(() =>
    ledger.recordDelivered({
      notificationId: notificationKey(event),
      userId: recipient.userId,
      channel: recipient.channel,
      endpointId: endpoint.id,
      providerMessageId: `${messageId} HTTP ${attempt.status}`,
      attempts: 1,
    }),
  );
  return 'delivered';
}

/** One recipient's first attempt: a webhook's direct attempt, or an email's send and its record. */
async function firstAttemptOf(
  {
    email,
    ledger,
    webhooks,
  }: {
    email: ReturnType<typeof createEmailActivities>;
    ledger: ReturnType<typeof createLedgerActivities>;
    webhooks: ReturnType<typeof createDirectWebhooks> | undefined;
  },
  input: AttemptNotificationInput,
  recipient: Recipient,
): Promise<FirstAttemptOutcome> {
  if (recipient.endpoint) return directWebhook(webhooks!, ledger, input, recipient, recipient.endpoint);
  const sent = await trySend(email, input, recipient);
  if (sent === 'retry') return { handOver: recipient };
  if ('errorType' in sent) return sent;
  // The mail is out: from here only the record may be tried again, never the send (a database restarting here
  // must not turn into a second mail).
  await untilRecorded(() =>
    ledger.recordDelivered({
      notificationId: notificationKey(input.event),
      userId: recipient.userId,
      channel: recipient.channel,
      ...sent,
    }),
  );
  return 'delivered';
}

/**
 * The happy path of one notification in one local activity, so that it costs one workflow task: check that the
 * order's previous notification has settled, find the audience, record it, make every email's first attempt and
 * every webhook's direct attempt, record what was delivered and, when that settles everything, wake the order's next
 * notification. The ledger's writes are idempotent and every mail claims its delivery first, so running this again (a
 * retry, a worker that died) mails nobody twice: a mail another attempt is still sending goes the durable way, which
 * waits for it. A webhook sent but not yet recorded when the worker died goes again with the same `webhook-id`.
 */
export function createFirstAttemptActivities({
  chain,
  preferences,
  ledger,
  email,
  webhooks,
  completions,
  digests,
  providers = { sms: [], push: [] },
}: {
  /** Collects the events of recipients who take them in digests; without it, they are sent one by one. */
  digests?: Pick<ReturnType<typeof createDigestActivities>, 'collectIntoDigest'>;
  /** The configured SMS providers (in failover order) and push providers. */
  providers?: ChannelProviders;
  chain: ReturnType<typeof createOrderChainActivities>;
  preferences: ReturnType<typeof createPreferenceActivities>;
  ledger: ReturnType<typeof createLedgerActivities>;
  email: ReturnType<typeof createEmailActivities>;
  /** Direct webhook attempts; without them every webhook goes through its endpoint's workflow. */
  webhooks?: ReturnType<typeof createDirectWebhooks>;
  /** Whether an event's success completes its order (seed 002); without it, none does. */
  completions?: ReturnType<typeof createCompletionActivities>;
}) {
  const firstAttempt = (input: AttemptNotificationInput, recipient: Recipient) =>
    firstAttemptOf({ email, ledger, webhooks }, input, recipient);

  return {
    async attemptNotification(input: AttemptNotificationInput): Promise<NotificationAttempt> {
      // Nothing is done until the order's previous notification (as the chain records it now) has settled.
      const predecessor = await chain.predecessorState(input.workflowId, { askTemporal: input.askTemporal ?? false });
      if (predecessor.state === 'running')
        return { kind: 'waiting', recheckAfterS: predecessor.recheckAfterS, predecessor: predecessor.workflowId };
      const audience = await preferences.findAudience(input.event);
      if (audience.held && input.send) return { kind: 'held' };
      const toSend = await ledger.recordAudience(input.event, input.template, audience.recipients, audience.suppressed);
      const firstAttempts = input.send ? firstAttemptsOf(toSend, webhooks !== undefined) : [];
      // Collected in the order the order's notifications run: a digest lists an order's events in commit order.
      const toDigest = input.send && digests ? toSend.filter((r): r is DigestRecipient => r.digest !== undefined) : [];
      // Beside the sends: its "order complete" goes before the order's next notification (the workflow sends it).
      const [results, completesOrder = false] = await Promise.all([
        Promise.all(firstAttempts.map((r) => firstAttempt(input, r))),
        input.send && input.template !== 'order-completed' ? completions?.completesOrder(input.event) : undefined,
        Promise.all(toDigest.map((recipient) => digests!.collectIntoDigest({ ...input, recipient }))),
      ]);
      const outcomes = new Map<Recipient, FirstAttemptOutcome | 'digested'>(
        firstAttempts.map((r, i) => [r, results[i]!]),
      );
      for (const r of toDigest) outcomes.set(r, 'digested');
      const remaining = toSend.flatMap((r) => {
        const outcome = outcomes.get(r) ?? { handOver: r };
        return typeof outcome === 'object' && 'handOver' in outcome ? [outcome.handOver] : [];
      });
      const failed = results.filter((r): r is FailedFirstAttempt => typeof r === 'object' && 'errorType' in r);
      // The usual case: nothing left to do in the workflow but complete.
      const settled = input.send && remaining.length === 0 && failed.length === 0 && !completesOrder;
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
        ...(toDigest.length > 0 ? { digested: toDigest.length } : {}),
        failed,
        settled,
        ...(completesOrder ? { completesOrder: true as const } : {}),
        ...(viaProviders ? { providers } : {}),
      };
    },
  };
}
