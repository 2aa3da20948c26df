import { Client, Connection } from '@temporalio/client';
import { createAddressHasher } from '../address-hash.js';
import { buildApi } from '../api/server.js';
import { loadConfig, webhookCustomerLimits, webhookDestinationPolicy } from '../config.js';
import { createLogger } from '../logger.js';
import { createRegistry, defaultMetricsPorts, serveMetrics } from '../metrics.js';
import { createLinkSigner, oneClickUnsubscribePath, preferencesPath } from '../recipient-links.js';
import { createSecretBox } from '../secrets.js';
import { destinationChecks } from '../webhook-destination.js';
import { connectTo, connectToMysql, runProcess, shutdownRequested } from './run.js';
import { dataConverterOf, payloadCodecOf } from '../payload-codec.js';

runProcess('api', async () => {
  const config = loadConfig();
  const log = createLogger('api', config.LOG_LEVEL);
  const pool = await connectToMysql(config);
  const connection = await connectTo(`Temporal at ${config.TEMPORAL_ADDRESS}`, () =>
    Connection.connect({ address: config.TEMPORAL_ADDRESS }),
  );
  const destinations = destinationChecks(webhookDestinationPolicy(config));
  const app = await buildApi({
    pool,
    client: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config) }),
    destinations,
    secrets: createSecretBox(config.SECRETS_ENCRYPTION_KEYS),
    secretGraceS: config.WEBHOOK_SECRET_GRACE_S,
    webhookCustomerLimits: webhookCustomerLimits(config),
    rateLimitPerMinute: config.API_RATE_LIMIT_PER_MINUTE,
    trustProxy: config.API_TRUST_PROXY,
    twilioAuthToken: config.TWILIO_AUTH_TOKEN,
    publicBaseUrl: config.PUBLIC_BASE_URL,
    linkSigner: createLinkSigner(config.LINK_SIGNING_KEYS, { ttlDays: config.LINK_TTL_DAYS }),
    payloadCodec: payloadCodecOf(config.PAYLOAD_ENCRYPTION_KEYS),
    hashAddress: createAddressHasher(config.ERASURE_HASH_KEY),
    log,
  });
  const address = await app.listen({ host: config.API_HOST, port: config.API_PORT }).catch((error: unknown) => {
    throw new Error(
      `cannot listen on ${config.API_HOST}:${config.API_PORT}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  const metrics = await serveMetrics(
    createRegistry('api'),
    config.METRICS_HOST,
    config.METRICS_PORT ?? defaultMetricsPorts.api,
  );
  log.info(
    {
      api: address,
      openapi: `${address}/openapi.json`,
      temporal: config.TEMPORAL_ADDRESS,
      mysql: `${config.MYSQL_HOST}:${config.MYSQL_PORT}/${config.MYSQL_DATABASE}`,
      metrics: metrics.url,
      twilioReceipts: config.TWILIO_AUTH_TOKEN
        ? `${config.PUBLIC_BASE_URL.replace(/\/+$/, '')}/v1/providers/twilio/status`
        : 'off (no TWILIO_AUTH_TOKEN)',
      oneClickUnsubscribe: `${config.PUBLIC_BASE_URL.replace(/\/+$/, '')}${oneClickUnsubscribePath}`,
      preferencePage: `${config.PUBLIC_BASE_URL.replace(/\/+$/, '')}${preferencesPath}`,
    },
    'api started',
  );
  const signal = await shutdownRequested();
  log.info({ signal }, 'api stopping: finishing requests in flight');
  await app.close();
  await metrics.close();
  await pool.end();
  await connection.close();
  log.info('api stopped');
});
