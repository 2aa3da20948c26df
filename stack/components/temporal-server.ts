import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SearchAttributeType } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { StackSettings, TemporalServerPorts } from '../local-settings.js';
import { temporalServerDir, versions } from '../paths.js';
import { StackError, startDaemon } from '../process.js';
import type { Steps } from '../steps.js';
import type { Component, ComponentContext } from './component.js';
import { type GoBinary, goInstall } from './go-build.js';
import { namespace, registerSearchAttributes, temporalHealth, withConnection } from './temporal.js';

export const temporalServerBinary: GoBinary = {
  path: join(temporalServerDir, 'server'),
  packagePath: 'go.temporal.io/server/cmd/server',
  version: versions.temporalServer,
  what: 'the Temporal server',
  expect: 'first run only, about 2-6 minutes on 2 cores',
};

/** Creates and upgrades Temporal's SQL schemas (they are compiled in). */
export const temporalSqlTool: GoBinary = {
  path: join(temporalServerDir, 'sql'),
  packagePath: 'go.temporal.io/server/cmd/tools/sql',
  version: versions.temporalServer,
  what: "Temporal's SQL schema tool",
};

/** History shards: fixed for the life of the database, and several so history work spreads as in production. */
export const numHistoryShards = 4;

/**
 * Custom search attribute columns per type in the SQL visibility store (schema/postgresql/v12/visibility/schema.sql of
 * server 1.29: Keyword01-Keyword10, Int01-Int03, ...): a type's attributes beyond these cannot be registered.
 */
export const sqlVisibilityColumns: Record<SearchAttributeType, number> = {
  KEYWORD: 10,
  TEXT: 3,
  INT: 3,
  DOUBLE: 3,
  BOOL: 3,
  DATETIME: 3,
  KEYWORD_LIST: 3,
};

/** The types among `attributes` that have more attributes than the SQL visibility store has columns for. */
export function overflowingSqlVisibility(attributes: readonly { type: SearchAttributeType }[]): SearchAttributeType[] {
  const counts = new Map<SearchAttributeType, number>();
  for (const { type } of attributes) counts.set(type, (counts.get(type) ?? 0) + 1);
  return [...counts].filter(([type, count]) => count > sqlVisibilityColumns[type]).map(([type]) => type);
}

/** The cluster profile's settings with what only it has, or a one-sentence error. */
export function clusterOnly(settings: StackSettings): Required<Pick<StackSettings, 'postgres' | 'temporalServer'>> {
  if (settings.postgres === undefined || settings.temporalServer === undefined)
    throw new StackError(`the ${settings.profile} profile has no PostgreSQL or Temporal server settings.`);
  return { postgres: settings.postgres, temporalServer: settings.temporalServer };
}

/**
 * The server's config (JSON is YAML, which the server reads): all four services in one process on their own ports,
 * the default store and the visibility store in two PostgreSQL databases.
 */
export function temporalServerConfig(settings: StackSettings): object {
  const { postgres, temporalServer: ports } = clusterOnly(settings);
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${postgres.port}`,
      connectProtocol: 'tcp',
      user: postgres.user,
      password: postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (name: keyof TemporalServerPorts['membership']) => ({
    rpc: {
      grpcPort: ports[name],
      membershipPort: ports.membership[name],
      bindOnIP: '127.0.0.1',
      ...(name === 'frontend' ? { httpPort: ports.frontendHttp } : {}),
    },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards,
      datastores: { default: store(postgres.database, 20), visibility: store(postgres.visibilityDatabase, 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: service('frontend'),
      history: service('history'),
      matching: service('matching'),
      worker: service('worker'),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${ports.frontend}`,
          httpAddress: `127.0.0.1:${ports.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
  };
}

/** A fresh server has no namespace: the one Orderly uses is registered here (retention of closed workflows: 3 days). */
async function registerNamespace(settings: StackSettings, steps: Steps): Promise<void> {
  await withConnection(settings, async (connection) => {
    const { namespaces } = await connection.workflowService.listNamespaces({});
    if (namespaces.some((ns) => ns.namespaceInfo?.name === namespace)) return;
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('3 days'),
    });
    steps.say(`registered namespace ${namespace}`);
  });
}

/** The cluster profile's Temporal: the server (not the CLI's dev server) on PostgreSQL, all services in one process. */
export function temporalServer({ settings, dirs }: ComponentContext): Component {
  const { temporalServer: ports } = clusterOnly(settings);
  const configDir = join(dirs.run, 'temporal-config');
  return {
    name: 'temporal',
    what: `the Temporal server v${versions.temporalServer} (${numHistoryShards} history shards, PostgreSQL stores)`,
    address: `${settings.temporalAddress} (Web UI http://127.0.0.1:${settings.temporalUiPort})`,
    ports: [
      ports.frontend,
      ports.frontendHttp,
      ports.history,
      ports.matching,
      ports.worker,
      ...Object.values(ports.membership),
    ],
    // Its stores, created with their schemas, are PostgreSQL's configuration.
    after: ['postgresql'],
    startTimeoutMs: 90_000,
    async provision(steps) {
      await Promise.all([goInstall(steps, temporalServerBinary), goInstall(steps, temporalSqlTool)]);
      mkdirSync(configDir, { recursive: true });
      writeFileSync(join(configDir, 'cluster.yaml'), `${JSON.stringify(temporalServerConfig(settings), null, 2)}\n`);
    },
    start() {
      startDaemon(dirs, 'temporal', temporalServerBinary.path, [
        '--root',
        dirs.run,
        '--config',
        'temporal-config',
        '--env',
        'cluster',
        '--allow-no-auth',
        'start',
      ]);
    },
    health: () => temporalHealth(settings),
    async configure(steps) {
      await registerNamespace(settings, steps);
      await registerSearchAttributes(settings, steps);
    },
  };
}
