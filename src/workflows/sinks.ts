import type { Sinks } from '@temporalio/workflow';
import type { CircuitState } from '../webhook-policy.js';

/** What workflow code reports to its worker process (fire and forget, outside history): metrics. */
export interface OrderlySinks extends Sinks {
  metrics: {
    circuitState(endpointId: string, state: CircuitState): void;
  };
}
