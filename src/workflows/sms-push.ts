import { ApplicationFailure, CancellationScope, TimeoutFailure, isCancellation, patched } from '@temporalio/workflow';
import type { PushOutcome } from '../activities/push.js';
import type { SmsOutcome } from '../activities/sms.js';
import { type OrderEvent, type Recipient, type TemplateId } from '../domain.js';
import { type Failure, deadLetter, deadLetterOf, failureOf } from './dead-lettering.js';
import { activityFailureCause } from './failures.js';
import { failoverErrorTypes, ledger, pushProvider, smsProvider } from './proxies.js';

/** What the SMS and push deliveries need of their notification run. */
export interface ChannelDeliveryContext {
  key: string;
  event: OrderEvent;
  template: TemplateId;
  /** One send that an operator's retryNow interrupts and starts again. */
  interruptible<T>(send: () => Promise<T>): Promise<T>;
  /** Waits this long before the next round of providers; retryNow ends the wait at once, a cancel throws. */
  backoff(ms: number): Promise<void>;
  /** The notification was cancelled: a failure is then the cancellation's, not the provider's. */
  cancelled(): boolean;
}

export type ChannelDeliveryResult = 'delivered' | 'suppressed' | 'dead_lettered';

/**
 * The wait between two rounds of a channel's providers, each having failed in a way that may pass: 10 s doubling,
 * at most 5 min, so a provider's outage delays a message instead of dead-lettering it.
 */
const roundBackoff = { initialMs: 10_000, maximumMs: 5 * 60_000 } as const;
/** The maximum age of runs whose first attempt recorded no `PROVIDER_MAX_AGE_S` (started before it existed). */
const defaultMaxAgeS = 3600;
/** Runs that reached "every provider failed" before retry rounds existed dead-lettered there: replays must too. */
const retryRoundsPatch = 'provider-retry-rounds';

/**
 * One SMS: the providers in their configured order, each with its own retries (`providerSendPolicy`); after one
 * runs out of attempts with a failure that may pass (5xx, 429, timeout) the next takes over. When every provider
 * failed so, the round starts again after a backoff, until `maxAgeS` after the first attempt. A recipient's or our
 * request's error stops at once. Given up: dead-lettered with every provider's last error.
 */
export async function deliverSms(
  context: ChannelDeliveryContext,
  recipient: Recipient,
  providers: string[],
  maxAgeS = defaultMaxAgeS,
): Promise<ChannelDeliveryResult> {
  const delivery = { notificationId: context.key, userId: recipient.userId, channel: 'sms' as const };
  if (providers.length === 0) return suppress(delivery, 'no SMS provider configured');
  const rounds = new RetryRounds(context, maxAgeS);
  const failures = new ProviderFailures();
  let outcome: SmsOutcome | undefined;
  do outcome = await smsRound(context, recipient, providers, failures);
  while (outcome === undefined && failures.mayPass && (await rounds.next()));
  if (outcome === undefined) {
    return deadLetter(deadLetterOf(context.event, failures.deadLetter(), delivery));
  }
  if (outcome.kind === 'suppressed') return suppress(delivery, outcome.reason);
  const { provider, providerMessageId, attempts } = outcome;
  // Accepted is accepted, even if a cancellation arrived meanwhile: the ledger must say so.
  await CancellationScope.nonCancellable(() =>
    ledger.recordDelivered({ ...delivery, state: 'sent', provider, providerMessageId, attempts }),
  );
  return 'delivered';
}

/** One round of the SMS providers, in order: the first outcome, or none when a failure ended the round. */
async function smsRound(
  context: ChannelDeliveryContext,
  recipient: Recipient,
  providers: string[],
  failures: ProviderFailures,
): Promise<SmsOutcome | undefined> {
  const input = { event: context.event, template: context.template, userId: recipient.userId };
  for (const provider of providers) {
    try {
      const previousAttempts = failures.attempts;
      return await context.interruptible(() =>
        smsProvider(provider).sendSms({ ...input, username: recipient.username, previousAttempts }),
      );
    } catch (error) {
      if (isCancellation(error) || context.cancelled()) throw error;
      if (!failures.record(provider, error)) return undefined;
    }
  }
  return undefined;
}

/**
 * One push: every configured push provider sends to the user's devices of its kind. Delivered when any device got
 * it; suppressed when the user has no device left (none registered, or each one gone and removed); dead-lettered
 * when a provider failed for good and no device got it. While no device got it and a provider failed in a way that
 * may pass, that provider is tried again in rounds, as for SMS.
 */
export async function deliverPush(
  context: ChannelDeliveryContext,
  recipient: Recipient,
  providers: string[],
  maxAgeS = defaultMaxAgeS,
): Promise<ChannelDeliveryResult> {
  const { event, template } = context;
  const delivery = { notificationId: context.key, userId: recipient.userId, channel: 'push' as const };
  if (providers.length === 0) return suppress(delivery, 'no push provider configured');
  const rounds = new RetryRounds(context, maxAgeS);
  const failures = new ProviderFailures();
  const outcomes: PushOutcome[] = [];
  let pending = providers;
  for (;;) {
    const again: string[] = [];
    for (const provider of pending) {
      try {
        const input = { event, template, userId: recipient.userId, username: recipient.username };
        outcomes.push(await context.interruptible(() => pushProvider(provider).sendPush(input)));
      } catch (error) {
        if (isCancellation(error) || context.cancelled()) throw error;
        if (failures.record(provider, error)) again.push(provider);
      }
    }
    if (outcomes.some((o) => o.kind === 'delivered') || again.length === 0 || !(await rounds.next())) break;
    pending = again;
  }
  const delivered = outcomes.filter((o) => o.kind === 'delivered');
  if (delivered.length > 0) {
    await CancellationScope.nonCancellable(() =>
      ledger.recordDelivered({
        ...delivery,
        provider: delivered.map((o) => o.provider).join(','),
        providerMessageId: delivered[0]!.providerMessageId,
        attempts: Math.max(...delivered.map((o) => o.attempts)),
      }),
    );
    return 'delivered';
  }
  if (failures.last !== undefined) {
    return deadLetter(deadLetterOf(event, failures.deadLetter(), delivery));
  }
  const gone = outcomes.find((o): o is Extract<PushOutcome, { kind: 'suppressed' }> => o.removed > 0);
  return suppress(delivery, gone?.reason ?? 'no push registration');
}

/** The waits between rounds of a delivery's providers, until its maximum age since the first attempt. */
class RetryRounds {
  private readonly startedAt = Date.now();
  private round = 0;

  constructor(
    private readonly context: ChannelDeliveryContext,
    private readonly maxAgeS: number,
  ) {}

  /** Waits for the next round and says whether to go; false once the maximum age is reached. */
  async next(): Promise<boolean> {
    if (!patched(retryRoundsPatch)) return false;
    const left = this.startedAt + this.maxAgeS * 1000 - Date.now();
    if (left <= 0) return false;
    const delay = Math.min(roundBackoff.initialMs * 2 ** this.round, roundBackoff.maximumMs, left);
    this.round += 1;
    await this.context.backoff(delay);
    return true;
  }
}

/** Each provider's last failure (across rounds), for the dead letter, and the attempts made so far. */
class ProviderFailures {
  last: Failure | undefined;
  /** The last failure may pass (the provider was unavailable or did not answer): worth another round. */
  mayPass = false;
  private readonly messages = new Map<string, string>();

  /** Records a provider's failure; true when it may pass. */
  record(provider: string, error: unknown): boolean {
    this.last = failureOf(error);
    this.messages.set(provider, this.last.message);
    this.mayPass = mayPassElsewhere(error);
    return this.mayPass;
  }

  get attempts(): number {
    return this.last?.attempts ?? 0;
  }

  /** The dead letter's failure: the last one's type and attempts, every provider's last message. */
  deadLetter(): Failure {
    const message = [...this.messages].map(([provider, text]) => `${provider}: ${text}`).join('; ');
    return { ...this.last!, message };
  }
}

async function suppress(
  delivery: { notificationId: string; userId: string; channel: 'sms' | 'push' },
  reason: string,
): Promise<'suppressed'> {
  await CancellationScope.nonCancellable(() => ledger.recordSuppressed({ ...delivery, reason }));
  return 'suppressed';
}

/** A failure the channel's next provider may not share: the provider was unavailable, or never answered in time. */
function mayPassElsewhere(error: unknown): boolean {
  const cause = activityFailureCause(error);
  if (cause instanceof TimeoutFailure) return true;
  return cause instanceof ApplicationFailure && !cause.nonRetryable && failoverErrorTypes.includes(cause.type ?? '');
}
