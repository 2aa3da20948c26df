import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { local } from '../local-settings.js';
import { dataDir, runDir } from '../paths.js';
import { errorText, healthy, startDaemon, unhealthy } from '../process.js';
import type { Steps } from '../steps.js';
import type { Component } from './component.js';
import { javaArgs, provisionKafkaJars, writeLog4jConfig } from './java.js';

const kafkaData = join(dataDir, 'kafka');
const kafkaProperties = join(runDir, 'kafka.properties');

async function provision(steps: Steps): Promise<void> {
  await provisionKafkaJars(steps);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(
    kafkaProperties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${local.kafkaControllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${local.kafkaPort},CONTROLLER://127.0.0.1:${local.kafkaControllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${local.kafkaPort}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${kafkaData}`,
      // Several partitions so several ingest processes can share the events topic.
      `num.partitions=${local.kafkaPartitions}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      // Without this a new consumer group waits 3 s before its first assignment.
      'group.initial.rebalance.delay.ms=0',
      // A row may carry a MEDIUMTEXT of several MB; the default 1 MB limit would stop the connector on it.
      `message.max.bytes=${local.maxMessageBytes}`,
      `replica.fetch.max.bytes=${local.maxMessageBytes}`,
      '',
    ].join('\n'),
  );
  writeLog4jConfig();
  if (existsSync(join(kafkaData, 'meta.properties'))) return;
  await steps.command(
    { doing: 'formatting the KRaft log directory', done: 'formatted the log directory' },
    'java',
    javaArgs('256m', 'kafka.tools.StorageTool', 'format', '-t', 'orderly-local-kafka-0001', '-c', kafkaProperties),
  );
}

const admin = (): ReturnType<Kafka['admin']> =>
  new Kafka({
    brokers: [local.kafkaBroker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 0 },
  }).admin();

export const kafka: Component = {
  name: 'kafka',
  what: 'the Kafka broker (KRaft)',
  address: local.kafkaBroker,
  ports: [local.kafkaPort, local.kafkaControllerPort],
  after: [],
  startTimeoutMs: 90_000,
  provision,
  start() {
    startDaemon('kafka', 'java', javaArgs('512m', 'kafka.Kafka', kafkaProperties), { KAFKA_LOG4J_OPTS: '' });
  },
  async health() {
    const client = admin();
    try {
      await client.connect();
      const cluster = await client.describeCluster();
      return cluster.controller === null ? unhealthy('no active controller yet') : healthy;
    } catch (error) {
      return unhealthy(`broker not answering on ${local.kafkaBroker} (${errorText(error)})`);
    } finally {
      await client.disconnect();
    }
  },
  async configure(steps) {
    // Created up front so the ingest can subscribe before Debezium's first event, with its partition count.
    const topics = [local.eventsTopic, local.deadLetterTopic];
    await steps.run({ doing: `creating topics ${topics.join(', ')}`, done: 'topics ready' }, async () => {
      const client = new Kafka({ brokers: [local.kafkaBroker], logLevel: logLevel.NOTHING }).admin();
      await client.connect();
      try {
        await client.createTopics({
          waitForLeaders: true,
          topics: topics.map((topic) => ({ topic, numPartitions: local.kafkaPartitions, replicationFactor: 1 })),
        });
      } finally {
        await client.disconnect();
      }
    });
  },
};
