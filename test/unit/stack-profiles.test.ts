import { describe, expect, it } from 'vitest';
import { connectProperties, connectWorkerName } from '../../stack/components/connect.js';
import { componentsOf } from '../../stack/components/index.js';
import { kafkaProperties } from '../../stack/components/kafka.js';
import {
  numHistoryShards,
  overflowingSqlVisibility,
  temporalServerConfig,
} from '../../stack/components/temporal-server.js';
import { temporalUiConfig } from '../../stack/components/temporal-ui.js';
import { connectorConfigOf, orderlyEnv, profiles } from '../../stack/local-settings.js';
import { parseProfile, stackDirs } from '../../stack/paths.js';
import { loadConfig } from '../../src/config.js';

const { dev, cluster } = profiles;
/** `key=value` lines as a map. */
const properties = (text: string) =>
  new Map(
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
const componentsOfProfile = (settings: typeof dev) => componentsOf(settings, stackDirs(settings.profile));

describe('stack profiles', () => {
  it('the cluster profile takes no port of the dev profile, and no two of its components share one', () => {
    const devPorts = componentsOfProfile(dev).flatMap((c) => c.ports);
    const clusterPorts = componentsOfProfile(cluster).flatMap((c) => c.ports);
    expect(new Set(clusterPorts).size).toBe(clusterPorts.length);
    expect(clusterPorts.filter((port) => devPorts.includes(port))).toEqual([]);
    expect(stackDirs('cluster').state).not.toBe(stackDirs('dev').state);
  });

  it('names the components of each profile', () => {
    expect(componentsOfProfile(dev).map((c) => c.name)).toEqual([
      'temporal',
      'mariadb',
      'kafka',
      'debezium',
      'smtp-sink',
    ]);
    expect(componentsOfProfile(cluster).map((c) => c.name)).toEqual([
      'postgresql',
      'temporal',
      'temporal-ui',
      'mariadb',
      'kafka-1',
      'kafka-2',
      'kafka-3',
      'debezium-1',
      'debezium-2',
      'smtp-sink',
    ]);
    expect(() => parseProfile('prod')).toThrow('unknown stack profile "prod"; known: dev, cluster');
  });

  it("gives Orderly's processes the cluster's addresses, every broker among them, as src/config.ts reads them", () => {
    const config = loadConfig(orderlyEnv('cluster'));
    expect(config.TEMPORAL_ADDRESS).toBe('127.0.0.1:7433');
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9192', '127.0.0.1:9194', '127.0.0.1:9196']);
    expect(config.MYSQL_PORT).toBe(3307);
    expect(config.SMTP_PORT).toBe(1125);
    // The dev profile's environment is src/config.ts's defaults.
    const devConfig = loadConfig(orderlyEnv('dev'));
    const defaults = loadConfig({});
    for (const key of ['TEMPORAL_ADDRESS', 'KAFKA_BROKERS', 'MYSQL_PORT', 'SMTP_PORT', 'KAFKA_EVENTS_TOPIC'] as const)
      expect(devConfig[key]).toEqual(defaults[key]);
  });
});

describe('cluster profile: generated configs', () => {
  it('three KRaft nodes, all voters, topics replicated 3 times with 2 in sync required', () => {
    const nodes = cluster.kafkaNodes.map((node) => properties(kafkaProperties(cluster, node, `/data/${node.id}`)));
    expect(nodes.map((n) => n.get('node.id'))).toEqual(['1', '2', '3']);
    for (const node of nodes) {
      expect(node.get('controller.quorum.voters')).toBe('1@127.0.0.1:9193,2@127.0.0.1:9195,3@127.0.0.1:9197');
      expect(node.get('default.replication.factor')).toBe('3');
      expect(node.get('min.insync.replicas')).toBe('2');
      expect(node.get('offsets.topic.replication.factor')).toBe('3');
      expect(node.get('transaction.state.log.replication.factor')).toBe('3');
    }
    expect(new Set(nodes.map((n) => n.get('log.dirs'))).size).toBe(3);
    // The dev broker stays a single replica.
    const single = properties(kafkaProperties(dev, dev.kafkaNodes[0]!, '/data'));
    expect(single.get('offsets.topic.replication.factor')).toBe('1');
    expect(single.has('default.replication.factor')).toBe(false);
  });

  it('two Connect workers in one group on their own REST ports; a dead one hands its task over within 30 s', () => {
    const workers = cluster.connectPorts.map((port) => properties(connectProperties(cluster, port)));
    expect(cluster.connectPorts.map((_port, index) => connectWorkerName(cluster, index))).toEqual([
      'debezium-1',
      'debezium-2',
    ]);
    expect(new Set(workers.map((w) => w.get('group.id'))).size).toBe(1);
    expect(workers.map((w) => w.get('listeners'))).toEqual(['http://127.0.0.1:8183', 'http://127.0.0.1:8184']);
    for (const worker of workers) {
      expect(worker.get('bootstrap.servers')).toBe('127.0.0.1:9192,127.0.0.1:9194,127.0.0.1:9196');
      expect(worker.get('config.storage.replication.factor')).toBe('3');
      expect(worker.get('producer.acks')).toBe('all');
      const handOver =
        Number(worker.get('scheduled.rebalance.max.delay.ms')) + Number(worker.get('session.timeout.ms'));
      expect(handOver).toBeLessThanOrEqual(30_000);
    }
    const connector = connectorConfigOf(cluster);
    expect(connector['topic.creation.default.replication.factor']).toBe('3');
    expect(connector['topic.creation.default.min.insync.replicas']).toBe('2');
    expect(connector['database.port']).toBe('3307');
    expect(connectorConfigOf(dev)['topic.creation.default.replication.factor']).toBe('1');
  });

  it('the Temporal server: several history shards, default and visibility stores in two PostgreSQL databases', () => {
    const config = temporalServerConfig(cluster) as {
      persistence: {
        numHistoryShards: number;
        defaultStore: string;
        visibilityStore: string;
        datastores: Record<string, { sql: { pluginName: string; databaseName: string; connectAddr: string } }>;
      };
      services: Record<string, { rpc: { grpcPort: number } }>;
    };
    expect(numHistoryShards).toBeGreaterThanOrEqual(4);
    expect(config.persistence.numHistoryShards).toBe(numHistoryShards);
    const stores = config.persistence.datastores;
    const main = stores[config.persistence.defaultStore]!.sql;
    const visibility = stores[config.persistence.visibilityStore]!.sql;
    expect([main.pluginName, visibility.pluginName]).toEqual(['postgres12', 'postgres12']);
    expect(main.databaseName).not.toBe(visibility.databaseName);
    expect(main.connectAddr).toBe('127.0.0.1:5433');
    expect(config.services.frontend!.rpc.grpcPort).toBe(7433);
    expect(temporalUiConfig(cluster)).toMatchObject({ temporalGrpcAddress: '127.0.0.1:7433', port: 8433 });
    expect(() => temporalServerConfig(dev)).toThrow('the dev profile has no PostgreSQL or Temporal server settings.');
  });

  it("Orderly's search attributes fit the SQL visibility store's columns; eleven keywords would not", () => {
    expect(overflowingSqlVisibility(cluster.searchAttributes)).toEqual([]);
    const eleven = Array.from({ length: 11 }, () => ({ type: 'KEYWORD' as const }));
    expect(overflowingSqlVisibility(eleven)).toEqual(['KEYWORD']);
  });
});
