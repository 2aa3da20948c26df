import './production.js';
import { createBounceAddresses } from '../bounce-address.js';
import { createBounceListener } from '../bounces/listener.js';
import { createBounceRecorder } from '../bounces/record.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { connectToMysql, runProcess, shutdownRequested } from './run.js';

runProcess('bounces', async () => {
  const config = loadConfig();
  const log = createLogger('bounces', config.LOG_LEVEL);
  const pool = await connectToMysql(config);
  const server = createBounceListener({
    bounces: createBounceAddresses(config.LINK_SIGNING_KEYS, config.BOUNCE_DOMAIN),
    recorder: createBounceRecorder({ pool, transientLimit: config.BOUNCE_TRANSIENT_LIMIT }),
    log,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: Error) =>
      reject(new Error(`cannot listen on ${config.BOUNCE_SMTP_HOST}:${config.BOUNCE_SMTP_PORT}: ${error.message}`)),
    );
    server.listen(config.BOUNCE_SMTP_PORT, config.BOUNCE_SMTP_HOST, resolve);
  });
  log.info(
    {
      smtp: `${config.BOUNCE_SMTP_HOST}:${config.BOUNCE_SMTP_PORT}`,
      accepts: `bounce+<token>@${config.BOUNCE_DOMAIN}`,
      mysql: `${config.MYSQL_HOST}:${config.MYSQL_PORT}/${config.MYSQL_DATABASE}`,
      transientLimit: config.BOUNCE_TRANSIENT_LIMIT,
    },
    'bounce listener started',
  );
  const signal = await shutdownRequested();
  log.info({ signal }, 'bounce listener stopping');
  // Stops accepting connections and waits for the open ones (reports in flight are recorded first).
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await pool.end();
  log.info('bounce listener stopped');
});
