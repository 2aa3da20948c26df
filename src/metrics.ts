import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { CircuitState } from './webhook-policy.js';

/** Where each process serves `/metrics` unless METRICS_PORT says otherwise: one of each fits on one host. */
export const defaultMetricsPorts = { 'workflow-worker': 9464, 'email-worker': 9465, 'webhook-worker': 9466, ingest: 9467, api: 9468 } as const;

/** A registry with Node's process metrics, every series labelled with the process. */
export function createRegistry(processName: keyof typeof defaultMetricsPorts): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry, prefix: 'orderly_' });
  return registry;
}

/** Serves the registry at `http://host:port/metrics` (port 0: any free port). */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => response.writeHead(500).end(error instanceof Error ? error.message : String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`cannot serve metrics on ${host}:${port}: ${error.message}`)));
    server.listen(port, host, resolve);
  });
  const url = `http://${host}:${(server.address() as AddressInfo).port}/metrics`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const circuitStates: CircuitState[] = ['closed', 'half_open', 'open'];

/** `orderly_webhook_circuit_state{endpoint_id, state}`: 1 for each endpoint's current state, 0 for the others. */
export function circuitStateGauge(registry: Registry): (endpointId: string, state: CircuitState) => void {
  const gauge = new Gauge({
    name: 'orderly_webhook_circuit_state',
    help: "Each webhook endpoint's circuit breaker: 1 on its current state (closed, half_open, open)",
    labelNames: ['endpoint_id', 'state'] as const,
    registers: [registry],
  });
  return (endpointId, state) => {
    for (const candidate of circuitStates) gauge.set({ endpoint_id: endpointId, state: candidate }, candidate === state ? 1 : 0);
  };
}
