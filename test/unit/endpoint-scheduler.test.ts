import { describe, expect, it } from 'vitest';
import type { EndpointPolicy, OrderEvent } from '../../src/domain.js';
import type { CircuitState } from '../../src/webhook-policy.js';
import { EndpointScheduler, type WebhookEndpointInput } from '../../src/workflows/endpoint-scheduler.js';
import type { WebhookDeliveryRequest } from '../../src/messages.js';

const policy: EndpointPolicy = {
  retryScheduleS: [1, 5],
  maxAgeS: 60,
  ratePerSecond: 100,
  maxInFlight: 2,
  circuitFailureThreshold: 2,
  circuitCooldownS: 10,
};

const event: OrderEvent = {
  eventId: '1',
  orderId: '10',
  customerId: '7',
  flowId: 'checkout',
  eventType: 'payment',
  status: 'failure',
  source: 'api',
  executionMs: null,
  errorCode: null,
  errorDesc: null,
  occurredAt: '2025-01-01T00:00:00.000Z',
};

const request = (messageId: string, overrides: Partial<WebhookDeliveryRequest> = {}): WebhookDeliveryRequest => ({
  messageId,
  endpointId: '3',
  policy,
  notificationWorkflowId: `notification:${messageId}`,
  event,
  template: 'order-event-failed',
  requestedAt: 0,
  ...overrides,
});

/** No jitter: the retry schedule's delays exactly. */
const noJitter = () => 0.5;
const serverError = {
  kind: 'retry',
  status: 500,
  countsAsFailure: true,
  message: 'the endpoint answered 500',
} as const;
const ids = (requests: WebhookDeliveryRequest[]) => requests.map((r) => r.messageId);

function schedulerWith(...messageIds: string[]) {
  const circuitStates: CircuitState[] = [];
  const scheduler = new EndpointScheduler({ endpointId: '3' }, (state) => circuitStates.push(state));
  for (const id of messageIds) expect(scheduler.request(request(id), 0)).toEqual({ kind: 'queued' });
  return { scheduler, circuitStates };
}

describe('EndpointScheduler: a finished delivery asked for again', () => {
  it('answers the same notification from memory, and attempts a rerun (another notification) again', () => {
    const { scheduler } = schedulerWith('a');
    scheduler.admit(0);
    const refused = scheduler.recordOutcome('a', { kind: 'rejected', status: 400, message: 'no' }, 0, noJitter);
    expect(scheduler.request(request('a'), 0)).toEqual({ kind: 'finished', result: refused });
    const rerun = request('a', { notificationWorkflowId: 'notification:a#redrive-1-1' });
    expect(scheduler.request(rerun, 0)).toEqual({ kind: 'queued' });
    expect(scheduler.admit(1)).toEqual([rerun]);
  });
});

describe('EndpointScheduler: admission', () => {
  it('starts due deliveries in request order up to the in-flight cap, the next one when a slot frees', () => {
    const { scheduler } = schedulerWith('a', 'b', 'c');
    expect(ids(scheduler.admit(0))).toEqual(['a', 'b']);
    expect(scheduler.inFlightCount).toBe(2);
    // Held back by the cap only: nothing to wake up for but a result.
    expect(scheduler.nextWakeUp(0)).toBeUndefined();
    expect(scheduler.recordOutcome('a', { kind: 'delivered', status: 200 }, 50, noJitter)).toEqual({
      messageId: 'a',
      notificationWorkflowId: 'notification:a',
      delivered: true,
      attempts: 1,
      status: 200,
    });
    expect(ids(scheduler.admit(50))).toEqual(['c']);
  });

  it('ignores a request already waiting or in flight, and answers one already finished without sending again', () => {
    const { scheduler } = schedulerWith('a', 'b', 'c');
    expect(scheduler.request(request('c'), 0)).toEqual({ kind: 'duplicate' });
    scheduler.admit(0);
    expect(scheduler.request(request('a'), 0)).toEqual({ kind: 'duplicate' });
    const result = scheduler.recordOutcome('a', { kind: 'delivered', status: 204 }, 10, noJitter);
    expect(scheduler.request(request('a'), 0)).toEqual({ kind: 'finished', result });
    expect(ids(scheduler.admit(10))).toEqual(['c']);
  });

  it('takes a token per start: past the burst, the next start waits for the bucket', () => {
    const { scheduler } = schedulerWith();
    const slow = { ...policy, ratePerSecond: 1, maxInFlight: 10 };
    scheduler.request(request('a', { policy: slow }), 0);
    scheduler.request(request('b', { policy: slow }), 0);
    expect(ids(scheduler.admit(1_000))).toEqual(['a']);
    expect(scheduler.nextWakeUp(1_000)).toBe(2_000);
    expect(scheduler.admit(1_500)).toEqual([]);
    expect(ids(scheduler.admit(2_000))).toEqual(['b']);
  });

  it('starts nothing before the first request brings a policy', () => {
    const scheduler = new EndpointScheduler({ endpointId: '3' });
    expect(scheduler.admit(0)).toEqual([]);
    expect(scheduler.idle).toBe(true);
  });
});

describe('EndpointScheduler: circuit breaker', () => {
  it('opens after the threshold of consecutive failures, then lets one probe through after the cooldown', () => {
    const { scheduler, circuitStates } = schedulerWith('a', 'b');
    scheduler.admit(0);
    scheduler.recordOutcome('a', serverError, 100, noJitter);
    expect(scheduler.circuitState).toBe('closed');
    scheduler.recordOutcome('b', serverError, 200, noJitter);
    expect(scheduler.circuitState).toBe('open');
    expect(scheduler.state(200)).toMatchObject({
      circuit: 'open',
      consecutiveFailures: 2,
      probeAt: new Date(10_200).toISOString(),
      waiting: 2,
    });
    // Both are due again after a second, but the circuit holds them until the probe time.
    expect(scheduler.admit(1_500)).toEqual([]);
    expect(scheduler.nextWakeUp(1_500)).toBe(10_200);
    expect(ids(scheduler.admit(10_200))).toEqual(['a']);
    expect(scheduler.circuitState).toBe('half_open');
    // While the probe is out, nothing else goes and nothing but its result wakes the endpoint.
    expect(scheduler.admit(10_300)).toEqual([]);
    expect(scheduler.nextWakeUp(10_300)).toBeUndefined();
    scheduler.recordOutcome('a', { kind: 'delivered', status: 200 }, 10_400, noJitter);
    expect(scheduler.circuitState).toBe('closed');
    expect(ids(scheduler.admit(10_400))).toEqual(['b']);
    expect(circuitStates).toEqual(['closed', 'open', 'half_open', 'closed']);
  });

  it('a failed probe opens the circuit again for another cooldown', () => {
    const { scheduler } = schedulerWith('a', 'b');
    scheduler.admit(0);
    scheduler.recordOutcome('a', serverError, 0, noJitter);
    scheduler.recordOutcome('b', serverError, 0, noJitter);
    expect(ids(scheduler.admit(10_000))).toEqual(['a']);
    scheduler.recordOutcome('a', serverError, 10_500, noJitter);
    expect(scheduler.state(10_500)).toMatchObject({ circuit: 'open', probeAt: new Date(20_500).toISOString() });
    // a is due again at 15.5 s (the schedule's second entry), b already: both wait for the next probe.
    expect(scheduler.nextWakeUp(15_000)).toBe(15_500);
    expect(scheduler.nextWakeUp(16_000)).toBe(20_500);
  });

  it('rate limiting (429) and requests never made do not count against the endpoint', () => {
    const { scheduler } = schedulerWith('a', 'b');
    scheduler.admit(0);
    const tooMany = { kind: 'retry', status: 429, countsAsFailure: false, message: '429' } as const;
    scheduler.recordOutcome('a', tooMany, 0, noJitter);
    scheduler.recordOutcome('b', serverError, 0, noJitter);
    expect(scheduler.state(0)).toMatchObject({ circuit: 'closed', consecutiveFailures: 1 });
    scheduler.admit(5_000);
    scheduler.recordOutcome('a', { kind: 'disabled', message: 'endpoint 3 is disabled' }, 5_000, noJitter);
    expect(scheduler.state(5_000)).toMatchObject({ circuit: 'closed', consecutiveFailures: 1 });
  });
});

describe('EndpointScheduler: retries and results', () => {
  it('retries on the schedule (with jitter), or after Retry-After when the endpoint gave one', () => {
    const { scheduler } = schedulerWith('a', 'b');
    scheduler.admit(0);
    scheduler.recordOutcome('a', serverError, 1_000, () => 0);
    const retryAfter = {
      kind: 'retry',
      status: 429,
      retryAfterMs: 30_000,
      countsAsFailure: false,
      message: '429',
    } as const;
    scheduler.recordOutcome('b', retryAfter, 1_000, noJitter);
    // 1 s minus 10 % jitter for a; exactly the 30 s b's endpoint asked for.
    expect(scheduler.nextWakeUp(1_000)).toBe(1_900);
    expect(scheduler.admit(1_899)).toEqual([]);
    expect(ids(scheduler.admit(1_900))).toEqual(['a']);
    // The second failure waits the schedule's second entry.
    scheduler.recordOutcome('a', { ...serverError, status: 502 }, 2_000, noJitter);
    expect(scheduler.nextWakeUp(2_000)).toBe(7_000);
  });

  it('gives up once the next attempt would fall past the maximum age', () => {
    const { scheduler } = schedulerWith();
    scheduler.request(request('a', { policy: { ...policy, maxAgeS: 3 }, requestedAt: 0 }), 0);
    scheduler.admit(0);
    expect(scheduler.recordOutcome('a', serverError, 1_000, noJitter)).toBeUndefined();
    expect(ids(scheduler.admit(2_000))).toEqual(['a']);
    expect(scheduler.recordOutcome('a', serverError, 2_500, noJitter)).toEqual({
      messageId: 'a',
      notificationWorkflowId: 'notification:a',
      delivered: false,
      attempts: 2,
      status: 500,
      errorType: 'WebhookRetriesExhausted',
      message: 'no success within 3 s (2 attempts); last: the endpoint answered 500',
    });
    expect(scheduler.idle).toBe(true);
  });

  it('a refusal, a 410 or a forbidden destination finishes the delivery at once', () => {
    const { scheduler } = schedulerWith('a', 'b');
    scheduler.admit(0);
    expect(scheduler.recordOutcome('a', { kind: 'rejected', status: 400, message: 'no' }, 0, noJitter)).toEqual({
      messageId: 'a',
      notificationWorkflowId: 'notification:a',
      delivered: false,
      attempts: 1,
      status: 400,
      errorType: 'WebhookRejected',
      message: 'no',
    });
    expect(scheduler.recordOutcome('b', { kind: 'forbidden', message: 'loopback' }, 0, noJitter)).toMatchObject({
      errorType: 'WebhookDestinationForbidden',
    });
  });

  it('takes over a failed direct attempt as its second attempt: waits for its retry time, and counts it in the circuit', () => {
    const { scheduler, circuitStates } = schedulerWith();
    const retryAt = 1_000;
    scheduler.request(request('a', { directAttempt: { retryAt, countsAsFailure: true } }), 0);
    expect(scheduler.admit(999)).toEqual([]);
    expect(scheduler.nextWakeUp(0)).toBe(retryAt);
    expect(ids(scheduler.admit(retryAt))).toEqual(['a']);
    // The circuit's threshold is 2: the direct attempt's failure and this one open it.
    expect(scheduler.recordOutcome('a', serverError, 1_500, noJitter)).toBeUndefined();
    expect(circuitStates).toEqual(['closed', 'open']);
    expect(scheduler.state(1_500)).toMatchObject({ circuit: 'open', consecutiveFailures: 2 });
  });

  it('a 429 on the direct attempt waits as asked and does not count in the circuit', () => {
    const { scheduler } = schedulerWith();
    scheduler.request(request('a', { directAttempt: { retryAt: 4_000, countsAsFailure: false } }), 0);
    expect(scheduler.state(0)).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
    expect(scheduler.nextWakeUp(0)).toBe(4_000);
  });

  it('a throttled attempt (no token in the shared bucket) waits for the token without counting as an attempt', () => {
    const { scheduler } = schedulerWith('a');
    scheduler.admit(0);
    const throttled = { kind: 'throttled', retryAfterMs: 250, message: 'next token in 250 ms' } as const;
    expect(scheduler.recordOutcome('a', throttled, 100, noJitter)).toBeUndefined();
    expect(scheduler.nextWakeUp(100)).toBe(350);
    expect(ids(scheduler.admit(350))).toEqual(['a']);
    expect(scheduler.recordOutcome('a', { kind: 'delivered', status: 204 }, 400, noJitter)).toMatchObject({
      delivered: true,
      attempts: 1,
    });
  });

  it('fails loudly on an outcome for a delivery that is not in flight', () => {
    const { scheduler } = schedulerWith('a');
    expect(() => scheduler.recordOutcome('a', serverError, 0, noJitter)).toThrow(/not in flight/);
  });
});

describe('EndpointScheduler: next wake-up, operators, continue-as-new', () => {
  it('wakes at the earliest waiting delivery, or the probe holding a due one back; while draining, not for the probe', () => {
    const { scheduler } = schedulerWith('a', 'b');
    scheduler.admit(0);
    scheduler.recordOutcome('a', serverError, 0, noJitter);
    scheduler.recordOutcome('b', { ...serverError, retryAfterMs: 500 }, 0, noJitter);
    expect(scheduler.nextWakeUp(0)).toBe(500);
    // Two failures opened the circuit until 10 s: due deliveries wait for its probe.
    expect(scheduler.nextWakeUp(600)).toBe(1_000);
    expect(scheduler.nextWakeUp(1_000)).toBe(10_000);
    expect(scheduler.nextWakeUp(1_000, { admitting: false })).toBeUndefined();
    expect(scheduler.nextWakeUp(600, { admitting: false })).toBe(1_000);
  });

  it('retry now makes a waiting delivery due at once; withdraw drops it', () => {
    const { scheduler } = schedulerWith('a', 'b', 'c');
    scheduler.admit(0);
    scheduler.recordOutcome('a', { ...serverError, retryAfterMs: 60_000 }, 0, noJitter);
    expect(scheduler.retryNow('a')).toBe(true);
    expect(scheduler.retryNow('unknown')).toBe(false);
    expect(scheduler.withdraw('c')).toBe(true);
    expect(scheduler.withdraw('c')).toBe(false);
    expect(ids(scheduler.admit(1))).toEqual(['a']);
    expect(scheduler.state(1)).toMatchObject({ inFlight: 2, waiting: 0, nextAttemptAt: null });
  });

  it('carries its state over continue-as-new', () => {
    const { scheduler } = schedulerWith('a', 'b');
    scheduler.admit(0);
    const done = scheduler.recordOutcome('a', { kind: 'delivered', status: 200 }, 0, noJitter)!;
    scheduler.recordOutcome('b', serverError, 0, noJitter);
    const next = new EndpointScheduler(JSON.parse(JSON.stringify(scheduler.snapshot())) as WebhookEndpointInput);
    expect(next.state(0)).toEqual(scheduler.state(0));
    expect(next.request(request('a'), 0)).toEqual({ kind: 'finished', result: done });
    expect(next.nextWakeUp(0)).toBe(1_000);
  });
});
