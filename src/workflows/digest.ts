import {
  condition,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { digestNotificationId, webhookMessageId } from '../domain.js';
import {
  type DigestInput,
  type WebhookDeliveryResult,
  cancelDigestSignal,
  flushDigestSignal,
  previousDigestSettledSignal,
  webhookResultSignal,
} from '../messages.js';
import { type NotificationStatus, searchAttributes } from '../search-attributes.js';
import { digestNow, digestTimers } from '../summaries.js';
import { type Failure, failureOf } from './dead-lettering.js';
import { digests, email, signals } from './proxies.js';

export interface DigestOutcome {
  digestId: string;
  status: Extract<NotificationStatus, 'delivered' | 'dead_lettered' | 'cancelled'>;
  /** How many events it carried (0 when it was settled before this run). */
  items: number;
}

/** A digest waiting for the recipient's earlier one looks again this often, in case its wake-up never comes. */
const earlierDigestRecheckInterval = '1 minute';

/** How often a webhook digest asks its endpoint's workflow again for a result that has not arrived. */
const resultReminderInterval = '5 minutes';

/**
 * One digest (issue 24, id `digest:<digestId>`), started by its first event: waits for its window to end, for it to
 * fill up or for an operator's flush, then closes it (no event joins it after that) and sends its events as one mail
 * or one webhook POST, or, cancelled before, records them cancelled. A send that fails for good dead-letters each of
 * its events. Its events are read from MySQL at send time: the history names the digest, never its events.
 */
export async function digestWorkflow(input: DigestInput): Promise<DigestOutcome> {
  const { digestId, recipient } = input;
  let flushed = false;
  let cancellation: string | undefined;
  setHandler(flushDigestSignal, () => void (flushed = true));
  setHandler(cancelDigestSignal, ({ reason }) => void (cancellation ??= reason));

  if (input.closesAt > Date.now()) {
    setCurrentDetails(digestNow.collecting(input));
    await condition(() => flushed || cancellation !== undefined, input.closesAt - Date.now(), {
      summary: digestTimers.windowEnds,
    });
  }
  const closed = await digests.closeDigest(digestId, cancellation);
  if (closed.kind === 'settled') return finish({ digestId, status: closed.state, items: 0 });
  await waitForEarlierDigests(digestId, closed.ahead ?? 0);

  setStatus('processing');
  setCurrentDetails(digestNow.sending(closed.items, input));
  const sent = await (recipient.endpoint ? sendWebhook(input, recipient.endpoint) : sendEmail(input));
  if ('errorType' in sent) {
    await digests.recordDigestDeadLettered(digestId, recipient, sent);
    return finish({ digestId, status: 'dead_lettered', items: closed.items });
  }
  await digests.recordDigestDelivered(digestId, recipient, sent);
  return finish({ digestId, status: 'delivered', items: closed.items });
}

/**
 * A recipient's digests go out one after another, as an order's notifications do: one whose predecessor is still being
 * sent (a slow endpoint, retries) waits until it has settled, woken by it, or looking again now and then.
 */
async function waitForEarlierDigests(digestId: string, ahead: number): Promise<void> {
  let wakeUps = 0;
  setHandler(previousDigestSettledSignal, () => void wakeUps++);
  const since = Date.now();
  while (ahead > 0) {
    setCurrentDetails(digestNow.waitingForEarlier(ahead, since));
    const seen = wakeUps;
    await condition(() => wakeUps !== seen, earlierDigestRecheckInterval, {
      summary: digestTimers.earlierDigestRecheck,
    });
    ahead = await digests.digestsAhead(digestId);
  }
}

type Sent = { providerMessageId: string; attempts: number } | Failure;

async function sendEmail({ digestId, recipient }: DigestInput): Promise<Sent> {
  try {
    return await email.sendDigestEmail({
      digestId,
      userId: recipient.userId,
      username: recipient.username,
      to: recipient.email,
      flowId: recipient.digest.flowId,
    });
  } catch (error) {
    return failureOf(error);
  }
}

/** Through the endpoint's workflow, like every webhook delivery: its rate limit, circuit and retry schedule hold. */
async function sendWebhook(
  { digestId, customerId }: DigestInput,
  endpoint: NonNullable<DigestInput['recipient']['endpoint']>,
): Promise<Sent> {
  const messageId = webhookMessageId(digestNotificationId(digestId), endpoint.id);
  let result: WebhookDeliveryResult | undefined;
  setHandler(webhookResultSignal, (answer) => void (answer.messageId === messageId && (result = answer)));
  const request = {
    digestId,
    customerId,
    messageId,
    endpointId: endpoint.id,
    policy: endpoint.policy,
    notificationWorkflowId: workflowInfo().workflowId,
    requestedAt: Date.now(),
  };
  // The endpoint's workflow ignores a request it holds and answers one it finished: asking again recovers a lost answer.
  do await signals.requestDigestWebhook(request);
  while (
    !(await condition(() => result !== undefined, resultReminderInterval, {
      summary: digestTimers.resultReminder(endpoint.id),
    }))
  );
  const answer = result!;
  if (answer.delivered)
    return { providerMessageId: `${messageId} HTTP ${answer.status ?? ''}`.trim(), attempts: answer.attempts };
  return {
    errorType: answer.errorType ?? 'WebhookFailed',
    message: answer.message ?? 'the webhook delivery failed',
    attempts: answer.attempts,
  };
}

function setStatus(status: NotificationStatus): void {
  upsertSearchAttributes([{ key: searchAttributes.notificationStatus, value: status }]);
}

function finish(outcome: DigestOutcome): DigestOutcome {
  setStatus(outcome.status);
  setCurrentDetails(digestNow.settled(outcome.status, outcome.items));
  log.info('digest settled', { ...outcome });
  return outcome;
}
