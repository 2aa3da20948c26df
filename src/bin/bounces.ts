import './production.js';
import { createBounceAddresses } from '../bounce-address.js';
import { createBounceListener } from '../bounces/listener.js';
import { createBounceRecorder } from '../bounces/record.js';
import { complaintAddress, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { createRegistry, defaultMetricsPorts, reportMetrics, serveMetrics } from '../metrics.js';
import { connectToMysql, runProcess, shutdownRequested } from './run.js';

runProcess('bounces', async () => {
  const config = loadConfig();
  const log = createLogger('bounces', config.LOG_LEVEL);
  const pool = await connectToMysql(config);
  const bounces = createBounceAddresses(config.LINK_SIGNING_KEYS, config.BOUNCE_DOMAIN);
  const registry = createRegistry('bounces');
  const complaints = complaintAddress(config);
  const server = createBounceListener({
    bounces,
    complaintAddress: complaints,
    recorder: createBounceRecorder({ pool, bounces, transientLimit: config.BOUNCE_TRANSIENT_LIMIT }),
    metrics: reportMetrics(registry),
    log,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: Error) =>
      reject(new Error(`cannot listen on ${config.BOUNCE_SMTP_HOST}:${config.BOUNCE_SMTP_PORT}: ${error.message}`)),
    );
    server.listen(config.BOUNCE_SMTP_PORT, config.BOUNCE_SMTP_HOST, resolve);
  });
  // Served once MySQL answers and SMTP listens, so it doubles as the process's health (the chart's probes).
  const metrics = await serveMetrics(registry, config.METRICS_HOST, config.METRICS_PORT ?? defaultMetricsPorts.bounces);
  log.info(
    {
      smtp: `${config.BOUNCE_SMTP_HOST}:${config.BOUNCE_SMTP_PORT}`,
      accepts: [`bounce+<token>@${config.BOUNCE_DOMAIN}`, complaints],
      mysql: `${config.MYSQL_HOST}:${config.MYSQL_PORT}/${config.MYSQL_DATABASE}`,
      metrics: metrics.url,
      transientLimit: config.BOUNCE_TRANSIENT_LIMIT,
    },
    'bounce listener started',
  );
  const signal = await shutdownRequested();
  log.info({ signal }, 'bounce listener stopping');
  // Stops accepting connections and waits for the open ones (reports in flight are recorded first).
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await metrics.close();
  await pool.end();
  log.info('bounce listener stopped');
});
