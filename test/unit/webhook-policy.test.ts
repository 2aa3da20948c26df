import { describe, expect, it } from 'vitest';
import type { EndpointPolicy } from '../../src/domain.js';
import * as webhookPolicy from '../../src/webhook-policy.js';

const policy: EndpointPolicy = {
  retryScheduleS: [5, 30, 120],
  maxAgeS: 3600,
  ratePerSecond: 2,
  maxInFlight: 4,
  circuitFailureThreshold: 3,
  circuitCooldownS: 10,
};

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures, not before', () => {
    let circuit = webhookPolicy.closedCircuit();
    circuit = webhookPolicy.circuitOnFailure(circuit, 1_000, policy);
    circuit = webhookPolicy.circuitOnFailure(circuit, 1_000, policy);
    expect(circuit.state).toBe('closed');
    expect(webhookPolicy.circuitAdmits(circuit, 1_000, 3)).toBe(true);
    circuit = webhookPolicy.circuitOnFailure(circuit, 1_000, policy);
    expect(circuit).toEqual({ state: 'open', consecutiveFailures: 3, openUntil: 11_000 });
  });

  it('a success in between resets the count', () => {
    let circuit = webhookPolicy.circuitOnFailure(
      webhookPolicy.circuitOnFailure(webhookPolicy.closedCircuit(), 0, policy),
      0,
      policy,
    );
    circuit = webhookPolicy.circuitOnSuccess();
    circuit = webhookPolicy.circuitOnFailure(circuit, 0, policy);
    expect(circuit.state).toBe('closed');
  });

  it('while open admits nothing until the cooldown, then exactly one probe (half-open)', () => {
    const open = { state: 'open' as const, consecutiveFailures: 3, openUntil: 11_000 };
    expect(webhookPolicy.circuitAdmits(open, 10_999, 0)).toBe(false);
    expect(webhookPolicy.circuitAdmits(open, 11_000, 1)).toBe(false);
    expect(webhookPolicy.circuitAdmits(open, 11_000, 0)).toBe(true);
    const probing = webhookPolicy.circuitOnStart(open);
    expect(probing.state).toBe('half_open');
    expect(webhookPolicy.circuitAdmits(probing, 20_000, 0)).toBe(false);
  });

  it('a failed probe opens it again for another cooldown; a successful one closes it', () => {
    const probing = { state: 'half_open' as const, consecutiveFailures: 3, openUntil: 11_000 };
    expect(webhookPolicy.circuitOnFailure(probing, 12_000, policy)).toEqual({
      state: 'open',
      consecutiveFailures: 4,
      openUntil: 22_000,
    });
    expect(webhookPolicy.circuitOnSuccess()).toEqual(webhookPolicy.closedCircuit());
  });
});

describe('token bucket', () => {
  it('allows a burst of one second of requests, then one per 1/rate seconds', () => {
    let bucket = webhookPolicy.fullBucket(policy, 0);
    expect(webhookPolicy.msUntilToken(bucket, 0, policy)).toBe(0);
    bucket = webhookPolicy.takeToken(bucket, 0, policy);
    bucket = webhookPolicy.takeToken(bucket, 0, policy);
    expect(webhookPolicy.msUntilToken(bucket, 0, policy)).toBe(500);
    expect(webhookPolicy.msUntilToken(bucket, 250, policy)).toBe(250);
    expect(webhookPolicy.msUntilToken(bucket, 500, policy)).toBe(0);
  });

  it('never holds more than the burst, however long it was idle', () => {
    const bucket = webhookPolicy.takeToken(webhookPolicy.fullBucket(policy, 0), 0, policy);
    const later = webhookPolicy.takeToken(webhookPolicy.takeToken(bucket, 3_600_000, policy), 3_600_000, policy);
    expect(webhookPolicy.msUntilToken(later, 3_600_000, policy)).toBe(500);
  });
});

describe('retry delay', () => {
  it('follows the schedule, repeats its last entry, and jitters by at most 10%', () => {
    const exact = () => 0.5;
    expect([1, 2, 3, 4, 9].map((n) => webhookPolicy.retryDelayMs(policy, n, exact))).toEqual([
      5_000, 30_000, 120_000, 120_000, 120_000,
    ]);
    expect(webhookPolicy.retryDelayMs(policy, 1, () => 0)).toBe(4_500);
    expect(webhookPolicy.retryDelayMs(policy, 1, () => 0.999_999)).toBe(5_500);
  });
});
