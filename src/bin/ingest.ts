import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../config.js';
import { createIngest } from '../ingest/consumer.js';
import { createLogger } from '../logger.js';
import { createRegistry, defaultMetricsPorts, ingestMetrics, serveMetrics } from '../metrics.js';
import { connectTo, connectToMysql, runProcess, shutdownRequested } from './run.js';
import { dataConverterOf } from '../payload-codec.js';

runProcess('ingest', async () => {
  const config = loadConfig();
  const log = createLogger('ingest', config.LOG_LEVEL);
  // The order's notification chain (which notification each new one waits for) is kept in MySQL.
  const pool = await connectToMysql(config);
  const connection = await connectTo(`Temporal at ${config.TEMPORAL_ADDRESS}`, () =>
    Connection.connect({ address: config.TEMPORAL_ADDRESS }),
  );
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterOf(config),
  });
  const kafka = new Kafka({ clientId: config.KAFKA_CLIENT_ID, brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN });
  const registry = createRegistry('ingest');
  const ingest = createIngest({ kafka, client, pool, config, log, metrics: ingestMetrics(registry) });
  await connectTo(`Kafka at ${config.KAFKA_BROKERS.join(',')}`, () => ingest.start());
  const metrics = await serveMetrics(registry, config.METRICS_HOST, config.METRICS_PORT ?? defaultMetricsPorts.ingest);
  log.info(
    {
      kafka: config.KAFKA_BROKERS,
      topic: config.KAFKA_EVENTS_TOPIC,
      group: config.KAFKA_GROUP_ID,
      temporal: config.TEMPORAL_ADDRESS,
      mysql: `${config.MYSQL_HOST}:${config.MYSQL_PORT}`,
      metrics: metrics.url,
    },
    'ingest started',
  );
  const signal = await shutdownRequested();
  log.info({ signal }, 'ingest stopping: finishing the current batch');
  await ingest.stop();
  await metrics.close();
  await connection.close();
  await pool.end();
  log.info({ counts: ingest.counts }, 'ingest stopped');
});
