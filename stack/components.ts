import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import temporalProto from '@temporalio/proto';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { migrate } from '../src/db/migrate.js';
import { createSecretBox } from '../src/secrets.js';
import { loadConfig } from '../src/config.js';
import { connectorConfig, connectorName, local } from './local-settings.js';
import { dataDir, debeziumPlugins, kafkaLibs, repoRoot, runDir, temporalBinary, versions } from './paths.js';
import { type Health, StackError, hasCommand, healthy, logFile, runStep, startDaemon, unhealthy } from './process.js';

/** One server of the local stack: how to get it, start it, tell it is healthy, and set it up once healthy. */
export interface Component {
  name: string;
  address: string;
  ports: number[];
  startTimeoutMs: number;
  provision(): void;
  start(): void;
  health(): Promise<Health>;
  configure?(): Promise<void>;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const temporal: Component = {
  name: 'temporal',
  address: `${local.temporalAddress} (Web UI http://127.0.0.1:${local.temporalUiPort})`,
  ports: [local.temporalPort, local.temporalUiPort],
  startTimeoutMs: 60_000,
  provision() {
    if (existsSync(temporalBinary)) return;
    if (!hasCommand('go'))
      throw new StackError('temporal: the Go toolchain is missing; install Go >= 1.25 to build the Temporal CLI.');
    runStep(
      'temporal',
      `building Temporal CLI v${versions.temporalCli} from the Go module proxy`,
      'go',
      ['install', `github.com/temporalio/cli/cmd/temporal@v${versions.temporalCli}`],
      { GOBIN: dirname(temporalBinary), CGO_ENABLED: '0' },
    );
  },
  start() {
    mkdirSync(join(dataDir, 'temporal'), { recursive: true });
    const searchAttributes = Object.entries(local.searchAttributes).flatMap(([key, type]) => [
      '--search-attribute',
      `${key}=${type}`,
    ]);
    startDaemon('temporal', temporalBinary, [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(local.temporalPort),
      '--ui-port',
      String(local.temporalUiPort),
      '--db-filename',
      join(dataDir, 'temporal', 'temporal.db'),
      '--namespace',
      'default',
      // WAL + NORMAL: the dev server's single SQLite connection is its bottleneck; fsync per commit halves throughput.
      '--sqlite-pragma',
      'journal_mode=WAL',
      '--sqlite-pragma',
      'synchronous=NORMAL',
      '--log-level',
      'warn',
      // The CLI re-reads search attributes from SQLite on every request that carries them (so new ones show
      // at once); ours are registered at start, and every Orderly workflow carries them.
      '--dynamic-config-value',
      'system.forceSearchAttributesCacheRefreshOnRead=false',
      // One worker per queue on one machine: a single partition lets every poll match every task.
      '--dynamic-config-value',
      'matching.numTaskqueueReadPartitions=1',
      '--dynamic-config-value',
      'matching.numTaskqueueWritePartitions=1',
      ...searchAttributes,
    ]);
  },
  async health() {
    try {
      const connection = await Connection.connect({ address: local.temporalAddress, connectTimeout: 2000 });
      try {
        const response = await connection.healthService.check({});
        return response.status === temporalProto.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING
          ? healthy
          : unhealthy(`health check answered status ${response.status}`);
      } finally {
        await connection.close();
      }
    } catch (error) {
      return unhealthy(`not answering on ${local.temporalAddress} (${errorText(error)})`);
    }
  },
};

const mariadbData = join(dataDir, 'mariadb');
const mariadbSocket = join(runDir, 'mariadb.sock');

const mariadb: Component = {
  name: 'mariadb',
  address: `127.0.0.1:${local.mysqlPort} (database ${local.mysqlDatabase})`,
  ports: [local.mysqlPort],
  startTimeoutMs: 60_000,
  provision() {
    if (!hasCommand('mariadbd')) {
      if (process.getuid?.() !== 0)
        throw new StackError(
          'mariadb: mariadb-server is not installed and installing it needs root; run `sudo apt-get install mariadb-server`.',
        );
      runStep('mariadb', 'apt-get update', 'apt-get', ['update']);
      runStep(
        'mariadb',
        'installing mariadb-server from Debian packages',
        'apt-get',
        ['install', '-y', '--no-install-recommends', 'mariadb-server', 'mariadb-client'],
        { DEBIAN_FRONTEND: 'noninteractive' },
      );
    }
    if (existsSync(join(mariadbData, 'mysql'))) return;
    mkdirSync(mariadbData, { recursive: true });
    runStep('mariadb', 'initialising the data directory', 'mariadb-install-db', [
      '--no-defaults',
      `--datadir=${mariadbData}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...rootUserFlag(),
    ]);
  },
  start() {
    mkdirSync(runDir, { recursive: true });
    startDaemon('mariadb', 'mariadbd', [
      '--no-defaults',
      `--datadir=${mariadbData}`,
      `--socket=${mariadbSocket}`,
      `--pid-file=${join(runDir, 'mariadbd.pid')}`,
      `--port=${local.mysqlPort}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      // What Debezium needs: a row-based binlog with full images, a server id, no compression.
      `--log-bin=${join(mariadbData, 'binlog')}`,
      '--binlog-format=ROW',
      '--binlog-row-image=FULL',
      '--log-bin-compress=0',
      '--server-id=1',
      // DATETIME columns carry no zone; Debezium reads them as UTC, so the server must write UTC.
      '--default-time-zone=+00:00',
      '--expire-logs-days=2',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      '--max-allowed-packet=64M',
      '--innodb-buffer-pool-size=256M',
      `--log-error=${logFile('mariadb')}`,
      ...rootUserFlag(),
    ]);
  },
  async health() {
    try {
      const connection = await mysql.createConnection({
        socketPath: mariadbSocket,
        user: 'root',
        connectTimeout: 2000,
      });
      try {
        await connection.query('SELECT 1');
        return healthy;
      } finally {
        await connection.end();
      }
    } catch (error) {
      return unhealthy(`not answering on ${mariadbSocket} (${errorText(error)})`);
    }
  },
  async configure() {
    const root = await mysql.createConnection({ socketPath: mariadbSocket, user: 'root', multipleStatements: true });
    try {
      await root.query(`
        DROP USER IF EXISTS ''@'localhost';
        CREATE DATABASE IF NOT EXISTS \`${local.mysqlDatabase}\` CHARACTER SET utf8mb4;
        CREATE USER IF NOT EXISTS '${local.mysqlUser}'@'%' IDENTIFIED BY '${local.mysqlPassword}';
        GRANT ALL PRIVILEGES ON \`${local.mysqlDatabase}\`.* TO '${local.mysqlUser}'@'%';
        CREATE USER IF NOT EXISTS '${local.cdcUser}'@'%' IDENTIFIED BY '${local.cdcPassword}';
        GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO '${local.cdcUser}'@'%';
      `);
    } finally {
      await root.end();
    }
    const app = await mysql.createConnection({ ...local.mysqlConnection, multipleStatements: true });
    try {
      await migrate(app, createSecretBox(loadConfig().SECRETS_ENCRYPTION_KEYS), (file) =>
        console.log(`  mariadb: applied migration ${file}`),
      );
    } finally {
      await app.end();
    }
  },
};

/** mariadbd refuses to run as root unless told to. */
function rootUserFlag(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

const log4jConfig = join(runDir, 'log4j.properties');

/** Kafka and Connect log through reload4j; INFO to stdout, which the stack sends to their log files. */
function writeLog4jConfig(): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(
    log4jConfig,
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.org.apache.kafka.clients=WARN',
      'log4j.logger.org.reflections=ERROR',
      '',
    ].join('\n'),
  );
}

function provisionJavaJars(name: string): void {
  if (existsSync(kafkaLibs) && existsSync(debeziumPlugins)) return;
  if (!hasCommand('java'))
    throw new StackError(`${name}: Java is missing; install OpenJDK 17 to run Kafka and Debezium.`);
  if (!hasCommand('mvn'))
    throw new StackError(
      `${name}: Maven is missing; install it to fetch the Kafka and Debezium jars from Maven Central.`,
    );
  const pom = join(repoRoot, 'stack', 'maven', 'pom.xml');
  const tmpLibs = `${kafkaLibs}.partial`;
  runStep(name, `fetching Kafka ${versions.kafka} jars from Maven Central`, 'mvn', [
    '-q',
    '-B',
    '-f',
    pom,
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${tmpLibs}`,
  ]);
  runStep(name, 'moving the jars into the cache', 'mv', ['-T', tmpLibs, kafkaLibs]);
  const tmpPlugins = `${debeziumPlugins}.partial`;
  runStep(name, `fetching the Debezium MariaDB connector ${versions.debezium} from Maven Central`, 'mvn', [
    '-q',
    '-B',
    '-f',
    pom,
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:unpack',
    `-Dartifact=io.debezium:debezium-connector-mariadb:${versions.debezium}:tar.gz:plugin`,
    `-DoutputDirectory=${tmpPlugins}`,
  ]);
  runStep(name, 'moving the connector into the cache', 'mv', ['-T', tmpPlugins, debeziumPlugins]);
}

function javaArgs(heap: string, mainClass: string, ...args: string[]): string[] {
  return [`-Xmx${heap}`, `-Dlog4j.configuration=file:${log4jConfig}`, '-cp', `${kafkaLibs}/*`, mainClass, ...args];
}

const kafkaData = join(dataDir, 'kafka');
const kafkaProperties = join(runDir, 'kafka.properties');

const kafka: Component = {
  name: 'kafka',
  address: local.kafkaBroker,
  ports: [local.kafkaPort, local.kafkaControllerPort],
  startTimeoutMs: 90_000,
  provision() {
    provisionJavaJars('kafka');
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
    runStep(
      'kafka',
      'formatting the KRaft log directory',
      'java',
      javaArgs('256m', 'kafka.tools.StorageTool', 'format', '-t', 'orderly-local-kafka-0001', '-c', kafkaProperties),
    );
  },
  start() {
    startDaemon('kafka', 'java', javaArgs('512m', 'kafka.Kafka', kafkaProperties), { KAFKA_LOG4J_OPTS: '' });
  },
  async health() {
    const admin = new Kafka({
      brokers: [local.kafkaBroker],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.controller === null ? unhealthy('no active controller yet') : healthy;
    } catch (error) {
      return unhealthy(`broker not answering on ${local.kafkaBroker} (${errorText(error)})`);
    } finally {
      await admin.disconnect();
    }
  },
  async configure() {
    // Created up front so the ingest can subscribe before Debezium's first event, with its partition count.
    const admin = new Kafka({ brokers: [local.kafkaBroker], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [local.eventsTopic, local.deadLetterTopic].map((topic) => ({
          topic,
          numPartitions: local.kafkaPartitions,
          replicationFactor: 1,
        })),
      });
    } finally {
      await admin.disconnect();
    }
  },
};

const connectProperties = join(runDir, 'connect.properties');
const connectUrl = `http://127.0.0.1:${local.connectPort}`;

const connect: Component = {
  name: 'debezium',
  address: `${connectUrl} (connector ${connectorName} -> topic ${local.eventsTopic})`,
  ports: [local.connectPort],
  startTimeoutMs: 120_000,
  provision() {
    provisionJavaJars('debezium');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(
      connectProperties,
      [
        `bootstrap.servers=${local.kafkaBroker}`,
        'group.id=orderly-connect',
        // Keys and values as plain JSON: the ingest reads {"order_id":...} keys and Debezium envelopes.
        'key.converter=org.apache.kafka.connect.json.JsonConverter',
        'value.converter=org.apache.kafka.connect.json.JsonConverter',
        'key.converter.schemas.enable=false',
        'value.converter.schemas.enable=false',
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
  },
  start() {
    startDaemon(
      'debezium',
      'java',
      javaArgs('512m', 'org.apache.kafka.connect.cli.ConnectDistributed', connectProperties),
    );
  },
  async health() {
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
  },
  async configure() {
    // PUT is idempotent: it creates the connector or updates its config; offsets are kept either way.
    const response = await fetch(`${connectUrl}/connectors/${connectorName}/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(connectorConfig),
    });
    if (!response.ok)
      throw new StackError(`debezium: registering connector ${connectorName} failed: ${await response.text()}`);
  },
};

const mailSink: Component = {
  name: 'smtp-sink',
  address: `smtp://127.0.0.1:${local.smtpPort} (mail UI and API http://127.0.0.1:${local.mailUiPort})`,
  ports: [local.smtpPort, local.mailUiPort],
  startTimeoutMs: 30_000,
  provision() {
    if (!existsSync(join(repoRoot, 'node_modules', 'maildev')))
      throw new StackError('smtp-sink: maildev is not installed; run `npm ci` first.');
  },
  start() {
    const mailDir = join(dataDir, 'maildev');
    mkdirSync(mailDir, { recursive: true });
    startDaemon('smtp-sink', process.execPath, [
      join(repoRoot, 'node_modules', 'maildev', 'bin', 'maildev'),
      '--ip',
      '127.0.0.1',
      '--smtp',
      String(local.smtpPort),
      '--web',
      String(local.mailUiPort),
      '--mail-directory',
      mailDir,
    ]);
  },
  async health() {
    try {
      const response = await fetch(`http://127.0.0.1:${local.mailUiPort}/healthz`, {
        signal: AbortSignal.timeout(2000),
      });
      return response.ok ? healthy : unhealthy(`mail API answered ${response.status}`);
    } catch (error) {
      return unhealthy(`mail API not answering on port ${local.mailUiPort} (${errorText(error)})`);
    }
  },
};

/** In start order: Connect needs Kafka and MariaDB up. */
export const components: Component[] = [temporal, mariadb, kafka, connect, mailSink];
