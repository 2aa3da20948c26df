import './production.js';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../config.js';
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
import { createEmailWorker, createSmtpTransport } from '../workers/email-worker.js';
import { connectTo, runProcess } from './run.js';

runProcess('email-worker', async () => {
  const config = loadConfig();
  const log = createLogger('email-worker', config.LOG_LEVEL);
  const transport = createSmtpTransport(config);
  await connectTo(`SMTP at ${config.SMTP_HOST}:${config.SMTP_PORT}`, () => transport.verify());
  const temporalMetrics = installTemporalRuntime(
    log,
    config.METRICS_HOST,
    config.TEMPORAL_METRICS_PORT ?? defaultTemporalMetricsPorts['email-worker'],
  );
  const connection = await connectTo(`Temporal at ${config.TEMPORAL_ADDRESS}`, () =>
    NativeConnection.connect({ address: config.TEMPORAL_ADDRESS }),
  );
  const registry = createRegistry('email-worker');
  const worker = await createEmailWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    transport,
    config,
    metrics: senderMetrics(registry),
  });
  const metrics = await serveMetrics(
    registry,
    config.METRICS_HOST,
    config.METRICS_PORT ?? defaultMetricsPorts['email-worker'],
  );
  log.info(
    {
      temporal: config.TEMPORAL_ADDRESS,
      taskQueue: taskQueues.email,
      smtp: `${config.SMTP_HOST}:${config.SMTP_PORT}`,
      pool: config.SMTP_POOL_SIZE,
      metrics: metrics.url,
      temporalMetrics,
    },
    'email worker started',
  );
  await worker.run();
  await metrics.close();
  transport.close();
  await connection.close();
  log.info('email worker stopped');
});
