import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectorConfig, connectorName, jsonConverters, local } from '../local-settings.js';
import { debeziumPlugins, runDir } from '../paths.js';
import { StackError, errorText, healthy, startDaemon, unhealthy } from '../process.js';
import type { Steps } from '../steps.js';
import type { Component } from './component.js';
import { javaArgs, provisionDebeziumPlugin, provisionKafkaJars, writeLog4jConfig } from './java.js';

const connectProperties = join(runDir, 'connect.properties');
const connectUrl = `http://127.0.0.1:${local.connectPort}`;

async function provision(steps: Steps): Promise<void> {
  await provisionKafkaJars(steps);
  await provisionDebeziumPlugin(steps);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(
    connectProperties,
    [
      `bootstrap.servers=${local.kafkaBroker}`,
      'group.id=orderly-connect',
      ...Object.entries(jsonConverters).map(([key, value]) => `${key}=${value}`),
      'config.storage.topic=orderly-connect-configs',
      'offset.storage.topic=orderly-connect-offsets',
      'status.storage.topic=orderly-connect-status',
      'config.storage.replication.factor=1',
      'offset.storage.replication.factor=1',
      'status.storage.replication.factor=1',
      // Commit source offsets often so a restart re-reads little of the binlog.
      'offset.flush.interval.ms=1000',
      `producer.max.request.size=${local.maxMessageBytes}`,
      `listeners=${connectUrl}`,
      `plugin.path=${debeziumPlugins}`,
      '',
    ].join('\n'),
  );
  writeLog4jConfig();
}

async function health() {
  try {
    const response = await fetch(`${connectUrl}/connectors/${connectorName}/status`, {
      signal: AbortSignal.timeout(2000),
    });
    if (response.status === 404) {
      const root = await fetch(`${connectUrl}/connectors`, { signal: AbortSignal.timeout(2000) });
      return root.ok ? healthy : unhealthy(`Connect REST answered ${root.status}`);
    }
    const status = (await response.json()) as {
      connector: { state: string };
      tasks: { state: string; trace?: string }[];
    };
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

export const connect: Component = {
  name: 'debezium',
  what: 'Kafka Connect with the Debezium MariaDB plugin',
  address: `${connectUrl} (connector ${connectorName} -> topic ${local.eventsTopic})`,
  ports: [local.connectPort],
  // The connector reads MariaDB's binlog as the CDC user and writes to Kafka: both must be up and configured.
  after: ['kafka', 'mariadb'],
  startTimeoutMs: 120_000,
  provision,
  start() {
    startDaemon(
      'debezium',
      'java',
      javaArgs('512m', 'org.apache.kafka.connect.cli.ConnectDistributed', connectProperties),
    );
  },
  health,
  async configure(steps) {
    await steps.run(
      { doing: `registering connector ${connectorName}`, done: `connector ${connectorName} registered` },
      async () => {
        // PUT is idempotent: it creates the connector or updates its config; offsets are kept either way.
        const response = await fetch(`${connectUrl}/connectors/${connectorName}/config`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(connectorConfig),
        });
        if (!response.ok)
          throw new StackError(`debezium: registering connector ${connectorName} failed: ${await response.text()}`);
      },
    );
  },
};
