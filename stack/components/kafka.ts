import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import type { KafkaNode, StackSettings } from '../local-settings.js';
import { StackError, errorText, healthy, startDaemon, unhealthy } from '../process.js';
import type { Steps } from '../steps.js';
import type { Component, ComponentContext, ComponentName } from './component.js';
import { javaArgs, provisionKafkaJars, writeLog4jConfig } from './java.js';

/** `kafka` when the profile has one broker, `kafka-<node id>` when it has several. */
export function kafkaNodeName(settings: StackSettings, node: KafkaNode): ComponentName {
  return settings.kafkaNodes.length === 1 ? 'kafka' : `kafka-${node.id}`;
}

/** The broker's server.properties: a KRaft node that is broker and controller, one of the profile's voters. */
export function kafkaProperties(settings: StackSettings, node: KafkaNode, logDirs: string): string {
  const replicas = settings.kafkaReplicationFactor;
  const minInsync = settings.kafkaMinInsyncReplicas;
  return [
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${settings.kafkaNodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',')}`,
    `listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${logDirs}`,
    // Several partitions so several ingest processes can share the events topic.
    `num.partitions=${settings.kafkaPartitions}`,
    ...(replicas > 1 ? [`default.replication.factor=${replicas}`, `min.insync.replicas=${minInsync}`] : []),
    `offsets.topic.replication.factor=${replicas}`,
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minInsync}`,
    // Without this a new consumer group waits 3 s before its first assignment.
    'group.initial.rebalance.delay.ms=0',
    // A row may carry a MEDIUMTEXT of several MB; the default 1 MB limit would stop the connector on it.
    `message.max.bytes=${settings.maxMessageBytes}`,
    `replica.fetch.max.bytes=${settings.maxMessageBytes}`,
    '',
  ].join('\n');
}

/** Every node of one profile's cluster is formatted with the same id. */
const clusterIds = { dev: 'orderly-local-kafka-0001', cluster: 'orderly-cluster-kafka-0001' } as const;

const admin = (brokers: string[], options: { fast?: boolean } = {}): ReturnType<Kafka['admin']> =>
  new Kafka({
    brokers,
    logLevel: logLevel.NOTHING,
    ...(options.fast ? { connectionTimeout: 2000, retry: { retries: 0 } } : {}),
  }).admin();

/** Topic creations in flight, by profile: the cluster's brokers come up together and share one. */
const creating = new Map<string, Promise<void>>();

/**
 * Creates the stack's topics once every broker of the profile is up (a topic of replication factor 3 needs three),
 * up front so the ingest can subscribe before Debezium's first event, with its partition count. Idempotent: every
 * broker runs it as it comes up; those coming up together wait on the first one's.
 */
function createTopics(settings: StackSettings, steps: Steps): Promise<void> {
  let pending = creating.get(settings.profile);
  if (pending === undefined) {
    pending = createTopicsNow(settings, steps).finally(() => creating.delete(settings.profile));
    creating.set(settings.profile, pending);
  }
  return pending;
}

/** Polls `check` every 500 ms, its errors taken as a no, until it says yes or `what` is late by 60 s. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new StackError(`kafka: ${what} after 60 s`);
    await sleep(500);
  }
}

async function createTopicsNow(settings: StackSettings, steps: Steps): Promise<void> {
  const topics = [settings.eventsTopic, settings.deadLetterTopic];
  await steps.run({ doing: `creating topics ${topics.join(', ')}`, done: 'topics ready' }, async () => {
    const client = admin(settings.kafkaBrokers);
    await client.connect();
    try {
      const brokers = settings.kafkaNodes.length;
      await until(
        `fewer than ${brokers} brokers`,
        async () => (await client.describeCluster()).brokers.length >= brokers,
      );
      const configEntries =
        settings.kafkaReplicationFactor > 1
          ? [{ name: 'min.insync.replicas', value: String(settings.kafkaMinInsyncReplicas) }]
          : [];
      await client.createTopics({
        waitForLeaders: false,
        topics: topics.map((topic) => ({
          topic,
          numPartitions: settings.kafkaPartitions,
          replicationFactor: settings.kafkaReplicationFactor,
          configEntries,
        })),
      });
      // Not kafkajs's waitForLeaders: with several brokers, the one it asks may not know the new topic yet, and
      // it gives up on that (UNKNOWN_TOPIC_OR_PARTITION) instead of asking again.
      await until('the topics have no leader', async () => {
        const metadata = await client.fetchTopicMetadata({ topics });
        return metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      });
    } finally {
      await client.disconnect();
    }
  });
}

/** One Kafka node of a profile: the dev profile's only broker, or one of the cluster profile's three. */
export function kafkaNode({ settings, dirs }: ComponentContext, node: KafkaNode): Component {
  const name = kafkaNodeName(settings, node);
  const data = join(dirs.data, name);
  const properties = join(dirs.run, `${name}.properties`);
  const broker = `127.0.0.1:${node.port}`;
  const clustered = settings.kafkaNodes.length > 1;
  return {
    name,
    what: clustered ? `Kafka broker ${node.id} of ${settings.kafkaNodes.length} (KRaft)` : 'the Kafka broker (KRaft)',
    address: broker,
    ports: [node.port, node.controllerPort],
    after: [],
    startTimeoutMs: 90_000,
    async provision(steps) {
      await provisionKafkaJars(steps);
      mkdirSync(dirs.run, { recursive: true });
      writeFileSync(properties, kafkaProperties(settings, node, data));
      writeLog4jConfig(dirs);
      if (existsSync(join(data, 'meta.properties'))) return;
      await steps.command(
        { doing: 'formatting the KRaft log directory', done: 'formatted the log directory' },
        'java',
        javaArgs(
          dirs,
          '256m',
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterIds[settings.profile],
          '-c',
          properties,
        ),
      );
    },
    start() {
      startDaemon(dirs, name, 'java', javaArgs(dirs, '512m', 'kafka.Kafka', properties), { KAFKA_LOG4J_OPTS: '' });
    },
    async health() {
      const client = admin([broker], { fast: true });
      try {
        await client.connect();
        const cluster = await client.describeCluster();
        if (cluster.controller === null) return unhealthy('no active controller yet');
        return cluster.brokers.some((b) => b.nodeId === node.id)
          ? healthy
          : unhealthy('not registered as a broker yet');
      } catch (error) {
        return unhealthy(`broker not answering on ${broker} (${errorText(error)})`);
      } finally {
        await client.disconnect();
      }
    },
    configure: (steps) => createTopics(settings, steps),
  };
}
