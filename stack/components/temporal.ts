import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import temporalProto from '@temporalio/proto';
import { type StackSettings, webUiCodecEndpoint } from '../local-settings.js';
import { installedTemporalCli } from '../paths.js';
import { type Health, errorText, healthy, startDaemon, unhealthy } from '../process.js';
import type { Steps } from '../steps.js';
import type { Component, ComponentContext } from './component.js';
import { provisionTemporalCli } from './temporal-cli.js';

const { IndexedValueType } = temporalProto.temporal.api.enums.v1;
/** The namespace Orderly's processes use (TEMPORAL_NAMESPACE's default). */
export const namespace = 'default';

function start({ settings, dirs }: ComponentContext): void {
  mkdirSync(join(dirs.data, 'temporal'), { recursive: true });
  const searchAttributes = settings.searchAttributes.flatMap(({ name, cliType }) => [
    '--search-attribute',
    `${name}=${cliType}`,
  ]);
  // Asked now, not at import: provisioning may just have installed the other one.
  startDaemon(dirs, 'temporal', installedTemporalCli().path, [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(settings.temporalPort),
    '--ui-port',
    String(settings.temporalUiPort),
    '--ui-codec-endpoint',
    webUiCodecEndpoint,
    '--db-filename',
    join(dirs.data, 'temporal', 'temporal.db'),
    '--namespace',
    namespace,
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
}

/** A short-lived connection to a profile's Temporal frontend. */
export async function withConnection<T>(
  settings: StackSettings,
  work: (connection: Connection) => Promise<T>,
): Promise<T> {
  const connection = await Connection.connect({ address: settings.temporalAddress, connectTimeout: 2000 });
  try {
    return await work(connection);
  } finally {
    await connection.close();
  }
}

/**
 * Registers the search attributes of src/search-attributes.ts the server lacks: on the dev server the start flags
 * register those of a fresh server, and this adds any the code gained since it started, so a running stack follows
 * the code without a restart; on the cluster profile's server, this registers them all the first time.
 */
export async function registerSearchAttributes(settings: StackSettings, steps: Steps): Promise<void> {
  await withConnection(settings, async (connection) => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = settings.searchAttributes.filter(({ name }) => !(name in (customAttributes ?? {})));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map(({ name, type }) => [name, IndexedValueType[`INDEXED_VALUE_TYPE_${type}`]]),
      ),
    });
    steps.say(`registered search attributes ${missing.map(({ name }) => name).join(', ')}`);
  });
}

/** The health of a profile's Temporal frontend, as its gRPC health service answers. */
export async function temporalHealth(settings: StackSettings): Promise<Health> {
  try {
    const response = await withConnection(settings, (connection) => connection.healthService.check({}));
    return response.status === temporalProto.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING
      ? healthy
      : unhealthy(`health check answered status ${response.status}`);
  } catch (error) {
    return unhealthy(`not answering on ${settings.temporalAddress} (${errorText(error)})`);
  }
}

/** The dev profile's Temporal: the CLI's dev server (SQLite, one history shard) with its Web UI. */
export function temporal(context: ComponentContext): Component {
  const { settings } = context;
  return {
    name: 'temporal',
    what: `the Temporal dev server with search attributes ${settings.searchAttributes.map(({ name }) => name).join(', ')}`,
    address: `${settings.temporalAddress} (Web UI http://127.0.0.1:${settings.temporalUiPort})`,
    ports: [settings.temporalPort, settings.temporalUiPort],
    after: [],
    startTimeoutMs: 60_000,
    provision: (steps) => provisionTemporalCli(steps),
    start: () => start(context),
    health: () => temporalHealth(settings),
    configure: (steps) => registerSearchAttributes(settings, steps),
  };
}
