import './production.js';
import { Client, Connection } from '@temporalio/client';
import { createAddressHasher } from '../address-hash.js';
import { startPruning } from '../retention.js';
import type { Pool } from 'mysql2/promise';
import { createDirectWebhooks } from '../activities/webhook.js';
import { type Config, loadConfig, webhookDefaults, webhookDestinationPolicy } from '../config.js';
import { taskQueues } from '../domain.js';
import { createLogger } from '../logger.js';
import {
  circuitStateGauge,
  createRegistry,
  defaultMetricsPorts,
  ledgerMetrics,
  type SenderMetrics,
  senderMetrics,
  serveMetrics,
} from '../metrics.js';
import { createSecretBox } from '../secrets.js';
import { destinationChecks } from '../webhook-destination.js';
import { bounceAddresses, createSmtpTransport, unsubscribeLinks } from '../workers/email-worker.js';
import { createWebhookAgent } from '../workers/webhook-worker.js';
import { createWorkflowWorker, retireDeadLettersWorkflow } from '../workers/workflow-worker.js';
import { connectTo, connectToMysql, connectWorkerToTemporal, runProcess } from './run.js';
import { dataConverterOf } from '../payload-codec.js';

runProcess('workflow-worker', async () => {
  const config = loadConfig();
  const log = createLogger('workflow-worker', config.LOG_LEVEL);
  const pool = await connectToMysql(config);
  // Each email's first attempt runs here (a local activity); the email workers take the retries.
  const transport = createSmtpTransport(config);
  await connectTo(`SMTP at ${config.SMTP_HOST}:${config.SMTP_PORT}`, () => transport.verify());
  const { connection, temporalMetrics } = await connectWorkerToTemporal('workflow-worker', config, log);
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const dataConverter = dataConverterOf(config);
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE, dataConverter });
  if (await retireDeadLettersWorkflow(client)) log.info('retired the dead-letters workflow of an earlier version');
  const registry = createRegistry('workflow-worker');
  const reportCircuitState = circuitStateGauge(registry);
  const sendMetrics = senderMetrics(registry);
  const worker = await createWorkflowWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    client,
    dataConverter,
    pool,
    webhookDefaults: webhookDefaults(config),
    hashAddress: createAddressHasher(config.ERASURE_HASH_KEY),
    smtp: {
      transport,
      from: config.MAIL_FROM,
      metrics: sendMetrics,
      unsubscribe: unsubscribeLinks(config),
      bounces: bounceAddresses(config),
    },
    ...(config.WEBHOOK_DIRECT_ATTEMPTS ? { webhooks: directWebhooks(config, pool, sendMetrics) } : {}),
    reportCircuitState,
    ledgerMetrics: ledgerMetrics(registry),
    providers: { sms: config.SMS_PROVIDERS, push: config.PUSH_PROVIDERS, maxAgeS: config.PROVIDER_MAX_AGE_S },
  });
  const metrics = await serveMetrics(
    registry,
    config.METRICS_HOST,
    config.METRICS_PORT ?? defaultMetricsPorts['workflow-worker'],
  );
  log.info(
    {
      temporal: config.TEMPORAL_ADDRESS,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: taskQueues.workflows,
      mysql: `${config.MYSQL_HOST}:${config.MYSQL_PORT}/${config.MYSQL_DATABASE}`,
      smtp: `${config.SMTP_HOST}:${config.SMTP_PORT}`,
      smsProviders: config.SMS_PROVIDERS,
      pushProviders: config.PUSH_PROVIDERS,
      providerMaxAgeS: config.PROVIDER_MAX_AGE_S,
      retention:
        config.RETENTION_S > 0
          ? `${config.RETENTION_S} s, pruned every ${config.RETENTION_PRUNE_EVERY_S} s`
          : 'kept for ever',
      directWebhookAttempts: config.WEBHOOK_DIRECT_ATTEMPTS ? `within ${config.WEBHOOK_DIRECT_TIMEOUT_MS} ms` : 'off',
      metrics: metrics.url,
      temporalMetrics,
    },
    'workflow worker started',
  );
  const stopPruning =
    config.RETENTION_S > 0
      ? startPruning({ pool, retentionS: config.RETENTION_S, everyS: config.RETENTION_PRUNE_EVERY_S, log })
      : () => Promise.resolve();
  // The worker drains in-flight tasks on SIGTERM/SIGINT before run() resolves.
  await worker.run();
  await stopPruning();
  await metrics.close();
  await pool.end();
  transport.close();
  await clientConnection.close();
  await connection.close();
  log.info('workflow worker stopped');
});

/** Webhooks' direct attempts from here, with the webhook workers' guard on destinations and their timeouts. */
function directWebhooks(config: Config, pool: Pool, metrics: SenderMetrics) {
  const destinations = destinationChecks(webhookDestinationPolicy(config));
  return createDirectWebhooks({
    pool,
    agent: createWebhookAgent(config, destinations),
    destinations,
    secrets: createSecretBox(config.SECRETS_ENCRYPTION_KEYS),
    metrics,
    timeoutMs: config.WEBHOOK_DIRECT_TIMEOUT_MS,
  });
}
