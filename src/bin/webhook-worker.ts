import { loadConfig, webhookDestinationPolicy } from '../config.js';
import { taskQueues } from '../domain.js';
import { createLogger } from '../logger.js';
import { createRegistry, defaultMetricsPorts, senderMetrics, serveMetrics } from '../metrics.js';
import { createSecretBox } from '../secrets.js';
import { destinationChecks } from '../webhook-destination.js';
import { createWebhookAgent, createWebhookWorker } from '../workers/webhook-worker.js';
import { connectToMysql, connectWorkerToTemporal, runProcess } from './run.js';

runProcess('webhook-worker', async () => {
  const config = loadConfig();
  const log = createLogger('webhook-worker', config.LOG_LEVEL);
  const pool = await connectToMysql(config);
  const { connection, temporalMetrics } = await connectWorkerToTemporal('webhook-worker', config, log);
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
