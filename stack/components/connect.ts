import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type StackSettings, connectorConfigOf, connectorName, jsonConverters } from '../local-settings.js';
import { debeziumPlugins } from '../paths.js';
import { type Health, StackError, errorText, healthy, startDaemon, unhealthy } from '../process.js';
import type { Component, ComponentContext, ComponentName } from './component.js';
import { kafkaNodeName } from './kafka.js';
import { javaArgs, provisionDebeziumPlugin, provisionKafkaJars, writeLog4jConfig } from './java.js';

/** `debezium` when the profile has one Connect worker, `debezium-<n>` (from 1) when it has several. */
export function connectWorkerName(settings: StackSettings, index: number): ComponentName {
  return settings.connectPorts.length === 1 ? 'debezium' : `debezium-${index + 1}`;
}

/** One worker's connect-distributed.properties: every worker of a profile joins the same group. */
export function connectProperties(settings: StackSettings, port: number): string {
  const replicas = settings.kafkaReplicationFactor;
  const clustered = settings.connectPorts.length > 1;
  return [
    `bootstrap.servers=${settings.kafkaBrokers.join(',')}`,
    'group.id=orderly-connect',
    ...Object.entries(jsonConverters).map(([key, value]) => `${key}=${value}`),
    'config.storage.topic=orderly-connect-configs',
    'offset.storage.topic=orderly-connect-offsets',
    'status.storage.topic=orderly-connect-status',
    `config.storage.replication.factor=${replicas}`,
    `offset.storage.replication.factor=${replicas}`,
    `status.storage.replication.factor=${replicas}`,
    // Commit source offsets often so a restart re-reads little of the binlog.
    'offset.flush.interval.ms=1000',
    `producer.max.request.size=${settings.maxMessageBytes}`,
    `listeners=http://127.0.0.1:${port}`,
    `plugin.path=${debeziumPlugins}`,
    ...(clustered
      ? [
          // How the other worker reaches this one's REST API (a connector's config is forwarded to the leader).
          'rest.advertised.host.name=127.0.0.1',
          `rest.advertised.port=${port}`,
          // The worker's producers already default to acks=all; said so the replicated topics' guarantee is explicit.
          'producer.acks=all',
          // A dead worker's tasks wait this long for it to come back before they move (default 5 minutes).
          'scheduled.rebalance.max.delay.ms=10000',
          // A worker killed with -9 leaves the group once its session times out (default 10 s).
          'session.timeout.ms=6000',
          'heartbeat.interval.ms=2000',
        ]
      : []),
    '',
  ].join('\n');
}

/** The connector's state as any worker reports it; the task's `worker_id` is `host:port` of the worker running it. */
export interface ConnectorStatus {
  connector: { state: string; worker_id: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
}

/** GET /connectors/<name>/status from one worker; undefined when the connector is not registered yet. */
export async function connectorStatus(connectUrl: string): Promise<ConnectorStatus | undefined> {
  const response = await fetch(`${connectUrl}/connectors/${connectorName}/status`, {
    signal: AbortSignal.timeout(2000),
  });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`Connect REST answered ${response.status}`);
  return (await response.json()) as ConnectorStatus;
}

async function health(connectUrl: string): Promise<Health> {
  try {
    const status = await connectorStatus(connectUrl);
    if (status === undefined) {
      const root = await fetch(`${connectUrl}/connectors`, { signal: AbortSignal.timeout(2000) });
      return root.ok ? healthy : unhealthy(`Connect REST answered ${root.status}`);
    }
    const failedTask = status.tasks.find((task) => task.state !== 'RUNNING');
    if (status.connector.state !== 'RUNNING')
      return unhealthy(`connector ${connectorName} is ${status.connector.state}`);
    if (failedTask)
      return unhealthy(`connector task is ${failedTask.state}: ${failedTask.trace?.split('\n')[0] ?? 'no trace'}`);
    if (status.tasks.length === 0) return unhealthy(`connector ${connectorName} has no task yet`);
    return healthy;
  } catch (error) {
    return unhealthy(`Kafka Connect not answering on ${connectUrl} (${errorText(error)})`);
  }
}

/**
 * Registers the connector, or updates it when its config differs. An unchanged config is not written again: that
 * would restart the connector and its task, and a worker coming back would move the task needlessly.
 */
async function registerConnector(connectUrl: string, config: Record<string, string>): Promise<void> {
  const current = await fetch(`${connectUrl}/connectors/${connectorName}/config`);
  if (current.ok) {
    // Connect adds the connector's name to the config it returns.
    const registered = (await current.json()) as Record<string, string>;
    const same = Object.keys({ ...registered, ...config }).every(
      (key) => key === 'name' || registered[key] === config[key],
    );
    if (same) return;
  }
  // PUT is idempotent: it creates the connector or updates its config; offsets are kept either way.
  const put = () =>
    fetch(`${connectUrl}/connectors/${connectorName}/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(config),
    });
  let response = await put();
  // 409: the group is rebalancing (a second worker just joined); Connect asks to try again shortly.
  for (let tries = 0; response.status === 409 && tries < 30; tries++) {
    await sleep(1000);
    response = await put();
  }
  if (!response.ok)
    throw new StackError(`debezium: registering connector ${connectorName} failed: ${await response.text()}`);
}

/** One Kafka Connect worker running the Debezium MariaDB plugin; `index` counts from 0 among the profile's workers. */
export function connectWorker({ settings, dirs }: ComponentContext, index: number): Component {
  const name = connectWorkerName(settings, index);
  const port = settings.connectPorts[index]!;
  const properties = join(dirs.run, `${name === 'debezium' ? 'connect' : `connect-${index + 1}`}.properties`);
  const connectUrl = `http://127.0.0.1:${port}`;
  const clustered = settings.connectPorts.length > 1;
  return {
    name,
    what: clustered
      ? `Kafka Connect worker ${index + 1} of ${settings.connectPorts.length} with the Debezium MariaDB plugin`
      : 'Kafka Connect with the Debezium MariaDB plugin',
    address: `${connectUrl} (connector ${connectorName} -> topic ${settings.eventsTopic})`,
    ports: [port],
    // The connector reads MariaDB's binlog as the CDC user and writes to Kafka: both must be up and configured.
    after: [...settings.kafkaNodes.map((node) => kafkaNodeName(settings, node)), 'mariadb'],
    startTimeoutMs: 120_000,
    async provision(steps) {
      await provisionKafkaJars(steps);
      await provisionDebeziumPlugin(steps);
      mkdirSync(dirs.run, { recursive: true });
      writeFileSync(properties, connectProperties(settings, port));
      writeLog4jConfig(dirs);
    },
    start() {
      startDaemon(
        dirs,
        name,
        'java',
        javaArgs(dirs, '512m', 'org.apache.kafka.connect.cli.ConnectDistributed', properties),
      );
    },
    health: () => health(connectUrl),
    // The connector is registered once, through the first worker; the group runs its task on one of them.
    ...(index === 0
      ? {
          async configure(steps) {
            await steps.run(
              { doing: `registering connector ${connectorName}`, done: `connector ${connectorName} registered` },
              () => registerConnector(connectUrl, connectorConfigOf(settings)),
            );
          },
        }
      : {}),
  };
}
