import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CircuitState } from './webhook-policy.js';

/** Where each process serves `/metrics` unless METRICS_PORT says otherwise: one of each fits on one host. */
export const defaultMetricsPorts = {
  'workflow-worker': 9464,
  'email-worker': 9465,
  'webhook-worker': 9466,
  ingest: 9467,
  api: 9468,
  bounces: 9469,
} as const;

/** Where each worker serves the Temporal SDK's own metrics unless TEMPORAL_METRICS_PORT says otherwise. */
export const defaultTemporalMetricsPorts = {
  'workflow-worker': 9474,
  'email-worker': 9475,
  'webhook-worker': 9476,
} as const;

/** A registry with Node's process metrics, every series labelled with the process. */
export function createRegistry(processName: keyof typeof defaultMetricsPorts): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry, prefix: 'orderly_' });
  return registry;
}

/** Serves the registry at `http://host:port/metrics` (port 0: any free port). */
export async function serveMetrics(
  registry: Registry,
  host: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
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
    for (const candidate of circuitStates)
      gauge.set({ endpoint_id: endpointId, state: candidate }, candidate === state ? 1 : 0);
  };
}

/** The ingest's view: what became of each Kafka message, and how far behind each partition it is. */
export function ingestMetrics(registry: Registry) {
  return {
    messages: new Counter({
      name: 'orderly_ingest_messages_total',
      help: 'Kafka messages handled by the ingest: accepted (handed to Temporal), skipped (with why), dead_lettered',
      labelNames: ['outcome', 'reason'] as const,
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'orderly_ingest_consumer_lag',
      help: "Messages between the partition's high watermark and the last batch the ingest took",
      labelNames: ['partition'] as const,
      registers: [registry],
    }),
  };
}
export type IngestMetrics = ReturnType<typeof ingestMetrics>;

/** A sender's view (workflow worker for first email attempts, email and webhook workers): each attempt's result, and latency from the event to acceptance. */
export function senderMetrics(registry: Registry) {
  return {
    attempts: new Counter({
      name: 'orderly_send_attempts_total',
      help: 'Send attempts by channel, provider (SMS and push) and result (sent, or why not)',
      labelNames: ['channel', 'provider', 'result'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'orderly_delivery_latency_seconds',
      help: "From the event's occurred_at to the provider accepting it (SMTP 250, webhook 2xx, SMS or push provider 2xx)",
      labelNames: ['channel', 'provider'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
      registers: [registry],
    }),
  };
}
export type SenderMetrics = ReturnType<typeof senderMetrics>;

/** The ledger's view (workflow worker): notifications settled, by channel and outcome. */
export function ledgerMetrics(registry: Registry) {
  return new Counter({
    name: 'orderly_notifications_total',
    help: 'Deliveries settled, by channel and outcome (delivered, dead_lettered, cancelled, suppressed)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });
}
export type LedgerMetrics = ReturnType<typeof ledgerMetrics>;

/** The bounce listener's view: what received reports did, per customer, and what came of every report. */
export function reportMetrics(registry: Registry) {
  return {
    bounces: new Counter({
      name: 'orderly_bounces_total',
      help: "Bounces applied to a delivery, by the delivery's customer and kind (permanent 5.x.x, transient 4.x.x)",
      labelNames: ['customer_id', 'kind'] as const,
      registers: [registry],
    }),
    complaints: new Counter({
      name: 'orderly_complaints_total',
      help: "Complaints (feedback reports of type abuse or fraud) that unsubscribed a user, by the user's customer",
      labelNames: ['customer_id'] as const,
      registers: [registry],
    }),
    reports: new Counter({
      name: 'orderly_inbound_reports_total',
      help: 'Reports received by the bounce listener, by kind (delivery-status, feedback-report, unknown) and outcome (applied, unmatched, unparseable)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
  };
}
export type ReportMetrics = ReturnType<typeof reportMetrics>;
