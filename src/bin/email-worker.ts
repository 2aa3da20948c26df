import './production.js';
import { loadConfig } from '../config.js';
import { taskQueues } from '../domain.js';
import { createLogger } from '../logger.js';
import { createRegistry, defaultMetricsPorts, senderMetrics, serveMetrics } from '../metrics.js';
import { createEmailWorker, createSmtpTransport } from '../workers/email-worker.js';
import { createProviderWorkers, createProviders, providerRate } from '../workers/provider-workers.js';
import { connectTo, connectToMysql, connectWorkerToTemporal, runProcess } from './run.js';

runProcess('email-worker', async () => {
  const config = loadConfig();
  const log = createLogger('email-worker', config.LOG_LEVEL);
  const transport = createSmtpTransport(config);
  const providers = createProviders(config);
  const servesProviders = providers.sms.length + providers.push.length > 0;
  // Every send claims its delivery row first; the SMS and push senders also read numbers and registrations there.
  const pool = await connectToMysql(config);
  await connectTo(`SMTP at ${config.SMTP_HOST}:${config.SMTP_PORT}`, () => transport.verify());
  const { connection, temporalMetrics } = await connectWorkerToTemporal('email-worker', config, log);
  const registry = createRegistry('email-worker');
  const sendMetrics = senderMetrics(registry);
  const worker = await createEmailWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    transport,
    pool,
    config,
    metrics: sendMetrics,
  });
  const providerWorkers = servesProviders
    ? await createProviderWorkers({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        pool,
        config,
        providers,
        metrics: sendMetrics,
      })
    : [];
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
      providers: [...providers.sms, ...providers.push].map((p) => ({
        name: p.name,
        taskQueue: taskQueues.provider(p.name),
        ratePerSecond: providerRate(config, p.name),
        maxConcurrent: config.PROVIDER_MAX_CONCURRENT,
      })),
      metrics: metrics.url,
      temporalMetrics,
    },
    'email worker started',
  );
  // Every worker drains its in-flight sends on SIGTERM before its run() resolves.
  await Promise.all([worker.run(), ...providerWorkers.map((w) => w.run())]);
  await metrics.close();
  await pool.end();
  transport.close();
  await connection.close();
  log.info('email worker stopped');
});
