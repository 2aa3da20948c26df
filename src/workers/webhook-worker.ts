import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Pool } from 'mysql2/promise';
import { Agent } from 'undici';
import { createWebhookMessages } from '../activities/ledger.js';
import { attemptLeaseMarginMs, createWebhookActivities } from '../activities/webhook.js';
import type { Config } from '../config.js';
import { taskQueues } from '../domain.js';
import type { SenderMetrics } from '../metrics.js';
import type { SecretBox } from '../secrets.js';
import { type destinationChecks, guardedLookup } from '../webhook-destination.js';
import { dataConverterOf } from '../payload-codec.js';

/**
 * One HTTP agent per process: keep-alive connections per endpoint origin, the connect/response timeouts, and a
 * lookup that refuses to connect to an address `destinations` does not allow.
 */
export function createWebhookAgent(config: Config, destinations: ReturnType<typeof destinationChecks>): Agent {
  return new Agent({
    connect: { timeout: config.WEBHOOK_CONNECT_TIMEOUT_MS, lookup: guardedLookup(destinations.checkAddress) },
    headersTimeout: config.WEBHOOK_RESPONSE_TIMEOUT_MS,
    bodyTimeout: config.WEBHOOK_RESPONSE_TIMEOUT_MS,
  });
}

export interface WebhookWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  pool: Pool;
  agent: Agent;
  destinations: ReturnType<typeof destinationChecks>;
  secrets: SecretBox;
  config: Config;
  metrics?: SenderMetrics;
}

/** Runs the webhook call activity on its own task queue, so HTTP capacity scales apart from email and workflows. */
export function createWebhookWorker({
  connection,
  namespace,
  pool,
  agent,
  destinations,
  secrets,
  config,
  metrics,
}: WebhookWorkerDeps): Promise<Worker> {
  return Worker.create({
    dataConverter: dataConverterOf(config),
    connection,
    namespace,
    taskQueue: taskQueues.webhooks,
    activities: createWebhookActivities({
      pool,
      messages: createWebhookMessages({ pool }),
      agent,
      destinations,
      secrets,
      metrics,
      leaseMs: config.WEBHOOK_CONNECT_TIMEOUT_MS + config.WEBHOOK_RESPONSE_TIMEOUT_MS + attemptLeaseMarginMs,
    }),
    maxConcurrentActivityTaskExecutions: config.WEBHOOK_MAX_CONCURRENT_ACTIVITIES,
  });
}
