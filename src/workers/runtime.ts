import { Runtime } from '@temporalio/worker';

/**
 * The Temporal SDK's own metrics (task slots, poll latencies, workflow cache, ...) on their own Prometheus
 * endpoint; port 0 leaves them off. Must run before the first connection to Temporal.
 */
export function installTemporalMetrics(host: string, port: number): string | undefined {
  if (port === 0) return undefined;
  Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: `${host}:${port}` } } } });
  return `http://${host}:${port}/metrics`;
}
