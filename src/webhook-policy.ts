/**
 * The rules a webhook endpoint's deliveries follow: circuit breaker, token bucket, retry delays.
 * Pure functions of plain data, so the endpoint workflow can keep the state in its history and unit tests
 * can check every transition.
 */
import type { EndpointPolicy } from './domain.js';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface Circuit {
  state: CircuitState;
  consecutiveFailures: number;
  /** While open: when (epoch ms) one probe may go through. */
  openUntil: number | null;
}

export const closedCircuit = (): Circuit => ({ state: 'closed', consecutiveFailures: 0, openUntil: null });

/** Whether a request may start now. An open circuit past its cooldown lets exactly one probe through. */
export function circuitAdmits(circuit: Circuit, now: number, inFlight: number): boolean {
  if (circuit.state === 'closed') return true;
  if (circuit.state === 'half_open') return false;
  return now >= (circuit.openUntil ?? 0) && inFlight === 0;
}

/** A request starts: through an open circuit, that request is the half-open probe. */
export function circuitOnStart(circuit: Circuit): Circuit {
  return circuit.state === 'open' ? { ...circuit, state: 'half_open' } : circuit;
}

/** The endpoint answered (any answer that is not a server failure): the circuit closes. */
export function circuitOnSuccess(): Circuit {
  return closedCircuit();
}

/** A 5xx, a timeout or a refused connection: the probe's failure, or enough in a row, opens the circuit. */
export function circuitOnFailure(circuit: Circuit, now: number, policy: EndpointPolicy): Circuit {
  const consecutiveFailures = circuit.consecutiveFailures + 1;
  if (circuit.state === 'open') return { ...circuit, consecutiveFailures };
  if (circuit.state === 'half_open' || consecutiveFailures >= policy.circuitFailureThreshold) {
    return { state: 'open', consecutiveFailures, openUntil: now + policy.circuitCooldownS * 1000 };
  }
  return { ...circuit, consecutiveFailures };
}

export interface TokenBucket {
  tokens: number;
  updatedAt: number;
}

/** A full bucket: a burst of one second's worth of requests. */
export const fullBucket = (policy: EndpointPolicy, now: number): TokenBucket => ({
  tokens: policy.ratePerSecond,
  updatedAt: now,
});

/** How long until a token is available (0: one is there now). */
export function msUntilToken(bucket: TokenBucket, now: number, policy: EndpointPolicy): number {
  const tokens = refilled(bucket, now, policy);
  return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 1000) / policy.ratePerSecond);
}

/** Takes one token; call only when {@link msUntilToken} says one is there. */
export function takeToken(bucket: TokenBucket, now: number, policy: EndpointPolicy): TokenBucket {
  return { tokens: refilled(bucket, now, policy) - 1, updatedAt: now };
}

function refilled(bucket: TokenBucket, now: number, policy: EndpointPolicy): number {
  const elapsed = Math.max(0, now - bucket.updatedAt);
  return Math.min(policy.ratePerSecond, bucket.tokens + (elapsed * policy.ratePerSecond) / 1000);
}

/**
 * The wait before the next attempt after `failedAttempts` failures: the schedule's entry (its last one
 * repeating), with ±10% jitter so that deliveries failed together do not retry together.
 */
export function retryDelayMs(policy: EndpointPolicy, failedAttempts: number, random: () => number): number {
  const schedule = policy.retryScheduleS.length > 0 ? policy.retryScheduleS : [60];
  const seconds = schedule[Math.min(failedAttempts, schedule.length) - 1] ?? schedule[0]!;
  return Math.round(seconds * 1000 * (0.9 + 0.2 * random()));
}
