import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Pool } from 'mysql2/promise';
import { Agent } from 'undici';
import { createWebhookActivities } from '../activities/webhook.js';
import type { Config } from '../config.js';
import { taskQueues } from '../domain.js';
import type { SenderMetrics } from '../metrics.js';

/** One HTTP agent per process: keep-alive connections per endpoint origin, and the connect/response timeouts. */
export function createWebhookAgent(config: Config): Agent {
  return new Agent({
    connect: { timeout: config.WEBHOOK_CONNECT_TIMEOUT_MS },
    headersTimeout: config.WEBHOOK_RESPONSE_TIMEOUT_MS,
    bodyTimeout: config.WEBHOOK_RESPONSE_TIMEOUT_MS,
  });
}

export interface WebhookWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  pool: Pool;
  agent: Agent;
  config: Config;
  metrics?: SenderMetrics;
}

/** Runs the webhook call activity on its own task queue, so HTTP capacity scales apart from email and workflows. */
export function createWebhookWorker({ connection, namespace, pool, agent, config, metrics }: WebhookWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue: taskQueues.webhooks,
    activities: createWebhookActivities({ pool, agent, metrics }),
    maxConcurrentActivityTaskExecutions: config.WEBHOOK_MAX_CONCURRENT_ACTIVITIES,
  });
}
