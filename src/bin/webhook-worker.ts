import { NativeConnection } from '@temporalio/worker';
import { loadConfig, webhookDestinationPolicy } from '../config.js';
import { createPool } from '../db/pool.js';
import { taskQueues } from '../domain.js';
import { createLogger } from '../logger.js';
import {
  createRegistry,
  defaultMetricsPorts,
  defaultTemporalMetricsPorts,
  senderMetrics,
  serveMetrics,
} from '../metrics.js';
import { installTemporalRuntime } from '../workers/runtime.js';
import { createSecretBox } from '../secrets.js';
import { destinationChecks } from '../webhook-destination.js';
import { createWebhookAgent, createWebhookWorker } from '../workers/webhook-worker.js';
import { connectTo, runProcess } from './run.js';

runProcess('webhook-worker', async () => {
  const config = loadConfig();
  const log = createLogger('webhook-worker', config.LOG_LEVEL);
  const pool = createPool(config);
  await connectTo(`MySQL at ${config.MYSQL_HOST}:${config.MYSQL_PORT}`, () => pool.query('SELECT 1'));
  const temporalMetrics = installTemporalRuntime(
    log,
    config.METRICS_HOST,
    config.TEMPORAL_METRICS_PORT ?? defaultTemporalMetricsPorts['webhook-worker'],
  );
  const connection = await connectTo(`Temporal at ${config.TEMPORAL_ADDRESS}`, () =>
    NativeConnection.connect({ address: config.TEMPORAL_ADDRESS }),
  );
  const destinations = destinationChecks(webhookDestinationPolicy(config));
  const agent = createWebhookAgent(config, destinations);
  const registry = createRegistry('webhook-worker');
  const worker = await createWebhookWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    pool,
    agent,
    destinations,
    secrets: createSecretBox(config.SECRETS_ENCRYPTION_KEYS),
    config,
    metrics: senderMetrics(registry),
  });
  const metrics = await serveMetrics(
    registry,
    config.METRICS_HOST,
    config.METRICS_PORT ?? defaultMetricsPorts['webhook-worker'],
  );
  log.info(
    {
      temporal: config.TEMPORAL_ADDRESS,
      taskQueue: taskQueues.webhooks,
      mysql: `${config.MYSQL_HOST}:${config.MYSQL_PORT}/${config.MYSQL_DATABASE}`,
      connectTimeoutMs: config.WEBHOOK_CONNECT_TIMEOUT_MS,
      responseTimeoutMs: config.WEBHOOK_RESPONSE_TIMEOUT_MS,
      allowedNetworks:
        config.WEBHOOK_ALLOWED_NETWORKS.length > 0 ? config.WEBHOOK_ALLOWED_NETWORKS : 'public addresses only',
      requireHttps: config.WEBHOOK_REQUIRE_HTTPS,
      metrics: metrics.url,
      temporalMetrics,
    },
    'webhook worker started',
  );
  // On SIGTERM the worker lets running calls finish (each bounded by the timeouts above) before run() resolves.
  await worker.run();
  await metrics.close();
  await agent.close();
  await pool.end();
  await connection.close();
  log.info('webhook worker stopped');
});
