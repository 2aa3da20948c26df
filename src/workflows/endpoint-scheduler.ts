/**
 * A webhook endpoint's scheduling, apart from the workflow that runs it: which deliveries may start (in-flight
 * cap, circuit breaker, token bucket), what an attempt's outcome means (try again when, give up, answer), and
 * when to look again. Pure and deterministic: no Temporal imports, the time passed in as `now` and randomness as
 * `random`, so unit tests drive it directly and the workflow's replay rebuilds it exactly.
 */
import type { WebhookAttempt } from '../activities/webhook.js';
import { type EndpointPolicy, webhookFailures } from '../domain.js';
import {
  type Circuit,
  type CircuitState,
  type TokenBucket,
  circuitAdmits,
  circuitOnFailure,
  circuitOnStart,
  circuitOnSuccess,
  closedCircuit,
  fullBucket,
  msUntilToken,
  retryDelayMs,
  takeToken,
} from '../webhook-policy.js';
import type { EndpointState, WebhookDeliveryRequest, WebhookDeliveryResult } from '../messages.js';

/** A delivery held back until it is due. */
export interface WaitingDelivery {
  request: WebhookDeliveryRequest;
  failedAttempts: number;
  /** Not before this time (epoch ms): a retry's backoff or the endpoint's Retry-After. */
  notBefore: number;
}

/** The endpoint workflow's input: its endpoint, and the scheduling state carried over continue-as-new. */
export interface WebhookEndpointInput {
  endpointId: string;
  policy?: EndpointPolicy;
  waiting?: WaitingDelivery[];
  circuit?: Circuit;
  bucket?: TokenBucket;
  recentResults?: WebhookDeliveryResult[];
}

/** What became of a delivery request. */
export type RequestAnswer =
  /** Waiting now: it starts when it is due and allowed. */
  | { kind: 'queued' }
  /** Already waiting or in flight: nothing to do. */
  | { kind: 'duplicate' }
  /** Finished before (the notification asked again): its result, to send again. */
  | { kind: 'finished'; result: WebhookDeliveryResult };

/** Results kept to answer a repeated request without calling the endpoint again. */
const recentResultsKept = 500;

/**
 * One endpoint's deliveries: waiting, in flight, recently finished; its circuit breaker and token bucket.
 * The workflow asks it what to start ({@link admit}), tells it what each attempt came to ({@link recordOutcome})
 * and sleeps until {@link nextWakeUp} or a signal.
 */
export class EndpointScheduler {
  readonly endpointId: string;
  /** The latest policy a request brought; undefined until the first request. */
  private policy: EndpointPolicy | undefined;
  private circuit: Circuit;
  private bucket: TokenBucket | undefined;
  private readonly waiting: WaitingDelivery[];
  /** By message id: the attempt's delivery, and the policy it started under. */
  private readonly inFlight = new Map<string, { item: WaitingDelivery; policy: EndpointPolicy }>();
  private readonly recent: Map<string, WebhookDeliveryResult>;

  /** `reportCircuit` hears the circuit's state now and at every change (a metric). */
  constructor(
    input: WebhookEndpointInput,
    private readonly reportCircuit: (state: CircuitState) => void = () => undefined,
  ) {
    this.endpointId = input.endpointId;
    this.policy = input.policy;
    this.circuit = input.circuit ?? closedCircuit();
    this.bucket = input.bucket;
    this.waiting = [...(input.waiting ?? [])];
    this.recent = new Map((input.recentResults ?? []).map((result) => [result.messageId, result]));
    reportCircuit(this.circuit.state);
  }

  get circuitState(): CircuitState {
    return this.circuit.state;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Nothing waiting, nothing in flight. */
  get idle(): boolean {
    return this.waiting.length === 0 && this.inFlight.size === 0;
  }

  /**
   * A notification asks for a delivery, `now`; its policy becomes the endpoint's. A delivery whose direct attempt
   * failed waits for its retry and counts, like any attempt of this endpoint's, towards the circuit breaker.
   */
  request(request: WebhookDeliveryRequest, now: number): RequestAnswer {
    this.policy = request.policy;
    const { messageId } = request;
    if (this.inFlight.has(messageId) || this.waiting.some((w) => w.request.messageId === messageId))
      return { kind: 'duplicate' };
    const result = this.recent.get(messageId);
    // The same notification asking again (a reminder) hears the result; a rerun (an operator's redrive, a new
    // notification workflow) is attempted again. Results carried from before they named their notification count
    // as the asker's.
    if (
      result !== undefined &&
      (result.notificationWorkflowId ?? request.notificationWorkflowId) === request.notificationWorkflowId
    )
      return { kind: 'finished', result };
    this.recent.delete(messageId);
    const direct = request.directAttempt;
    if (direct?.countsAsFailure) this.setCircuit(circuitOnFailure(this.circuit, now, request.policy));
    this.waiting.push({ request, failedAttempts: direct ? 1 : 0, notBefore: direct?.retryAt ?? 0 });
    return { kind: 'queued' };
  }

  /** The notification was cancelled: its delivery no longer waits (one in flight finishes). */
  withdraw(messageId: string): boolean {
    const index = this.waiting.findIndex((w) => w.request.messageId === messageId);
    if (index >= 0) this.waiting.splice(index, 1);
    return index >= 0;
  }

  /** An operator asked for the next attempt now: the waiting delivery is due at once. False when none waits. */
  retryNow(messageId: string): boolean {
    const item = this.waiting.find((w) => w.request.messageId === messageId);
    if (item === undefined) return false;
    item.notBefore = 0;
    return true;
  }

  /**
   * Starts every delivery that is due and allowed, in the order they wait: the in-flight cap, the circuit, then a
   * token from the bucket. Returns the deliveries to attempt now; each one's outcome goes to {@link recordOutcome}.
   */
  admit(now: number): WebhookDeliveryRequest[] {
    const starts: WebhookDeliveryRequest[] = [];
    for (;;) {
      const policy = this.policy;
      const next = this.waiting.findIndex((w) => w.notBefore <= now);
      if (policy === undefined || next < 0 || this.inFlight.size >= policy.maxInFlight) break;
      if (!circuitAdmits(this.circuit, now, this.inFlight.size)) break;
      this.bucket ??= fullBucket(policy, now);
      if (msUntilToken(this.bucket, now, policy) > 0) break;
      this.bucket = takeToken(this.bucket, now, policy);
      this.setCircuit(circuitOnStart(this.circuit));
      const [item] = this.waiting.splice(next, 1);
      this.inFlight.set(item!.request.messageId, { item: item!, policy });
      starts.push(item!.request);
    }
    return starts;
  }

  /**
   * What an attempt came to, `now`. Returns the delivery's result when it is finished (delivered or given up);
   * undefined when it waits for another attempt, after the endpoint's Retry-After or the retry schedule.
   */
  recordOutcome(
    messageId: string,
    outcome: WebhookAttempt,
    now: number,
    random: () => number,
  ): WebhookDeliveryResult | undefined {
    const started = this.inFlight.get(messageId);
    if (started === undefined) throw new Error(`webhook delivery ${messageId} is not in flight`);
    this.inFlight.delete(messageId);
    const { item, policy } = started;
    if (outcome.kind === 'throttled') {
      // No request was made: it waits for the token, and a probe it was goes again.
      if (this.circuit.state === 'half_open') this.setCircuit({ ...this.circuit, state: 'open' });
      this.waiting.push({ ...item, notBefore: now + outcome.retryAfterMs });
      return undefined;
    }
    const attempts = item.failedAttempts + 1;
    if (outcome.kind === 'retry') {
      if (outcome.countsAsFailure) this.setCircuit(circuitOnFailure(this.circuit, now, policy));
      const notBefore = now + (outcome.retryAfterMs ?? retryDelayMs(policy, attempts, random));
      if (notBefore <= item.request.requestedAt + policy.maxAgeS * 1000) {
        this.waiting.push({ request: item.request, failedAttempts: attempts, notBefore });
        return undefined;
      }
      return this.finish(item.request, {
        delivered: false,
        attempts,
        ...withStatus(outcome.status),
        errorType: webhookFailures.expired,
        message: `no success within ${policy.maxAgeS} s (${attempts} attempts); last: ${outcome.message}`,
      });
    }
    // A disabled endpoint, a refused destination or an erased message made no request: nothing to say about the
    // endpoint's health.
    if (outcome.kind === 'delivered' || outcome.kind === 'gone' || outcome.kind === 'rejected')
      this.setCircuit(circuitOnSuccess());
    if (outcome.kind === 'delivered')
      return this.finish(item.request, { delivered: true, attempts, status: outcome.status });
    return this.finish(item.request, {
      delivered: false,
      attempts,
      ...withStatus('status' in outcome ? outcome.status : undefined),
      errorType: webhookFailures[outcome.kind],
      message: outcome.message,
    });
  }

  /**
   * When to look again (epoch ms), undefined when only a signal can change anything: the earliest time a waiting
   * delivery falls due and, while `admitting`, when what holds a due delivery back passes (the open circuit's
   * probe time, the bucket's next token). Call it after {@link admit}, with the same `now`.
   */
  nextWakeUp(now: number, { admitting = true }: { admitting?: boolean } = {}): number | undefined {
    let wakeAt = admitting ? this.heldBackUntil(now) : Number.POSITIVE_INFINITY;
    for (const w of this.waiting) if (w.notBefore > now) wakeAt = Math.min(wakeAt, w.notBefore);
    return Number.isFinite(wakeAt) ? wakeAt : undefined;
  }

  /** What operators see (`endpointState` query). */
  state(now: number): EndpointState {
    const { circuit } = this;
    const due = Math.min(...this.waiting.map((w) => w.notBefore));
    return {
      endpointId: this.endpointId,
      circuit: circuit.state,
      consecutiveFailures: circuit.consecutiveFailures,
      probeAt:
        circuit.state === 'open' && circuit.openUntil !== null ? new Date(circuit.openUntil).toISOString() : null,
      inFlight: this.inFlight.size,
      waiting: this.waiting.length,
      nextAttemptAt: Number.isFinite(due) ? new Date(Math.max(due, now)).toISOString() : null,
    };
  }

  /** The state to carry over continue-as-new (with nothing in flight). */
  snapshot(): WebhookEndpointInput {
    return {
      endpointId: this.endpointId,
      policy: this.policy,
      waiting: this.waiting,
      circuit: this.circuit,
      bucket: this.bucket,
      recentResults: [...this.recent.values()],
    };
  }

  /** Why {@link admit} stopped with a delivery due, as a time: the circuit's probe, or the next token. */
  private heldBackUntil(now: number): number {
    const policy = this.policy;
    const due = this.waiting.some((w) => w.notBefore <= now);
    if (policy === undefined || !due || this.inFlight.size >= policy.maxInFlight) return Number.POSITIVE_INFINITY;
    if (!circuitAdmits(this.circuit, now, this.inFlight.size))
      return this.circuit.state === 'open' && this.inFlight.size === 0
        ? (this.circuit.openUntil ?? now)
        : Number.POSITIVE_INFINITY;
    const tokenIn = msUntilToken(this.bucket ?? fullBucket(policy, now), now, policy);
    return tokenIn > 0 ? now + tokenIn : Number.POSITIVE_INFINITY;
  }

  private finish(
    { messageId, notificationWorkflowId }: WebhookDeliveryRequest,
    result: Omit<WebhookDeliveryResult, 'messageId' | 'notificationWorkflowId'>,
  ): WebhookDeliveryResult {
    const full = { messageId, notificationWorkflowId, ...result };
    this.recent.set(messageId, full);
    if (this.recent.size > recentResultsKept) this.recent.delete(this.recent.keys().next().value!);
    return full;
  }

  private setCircuit(next: Circuit): void {
    if (next.state !== this.circuit.state) this.reportCircuit(next.state);
    this.circuit = next;
  }
}

const withStatus = (status: number | undefined) => (status === undefined ? {} : { status });
