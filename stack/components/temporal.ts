import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import temporalProto from '@temporalio/proto';
import { local } from '../local-settings.js';
import { dataDir, temporalBinary, versions } from '../paths.js';
import { StackError, errorText, goBuildFlags, hasCommand, healthy, startDaemon, unhealthy } from '../process.js';
import type { Steps } from '../steps.js';
import type { Component } from './component.js';

const { IndexedValueType } = temporalProto.temporal.api.enums.v1;
const namespace = 'default';

async function provision(steps: Steps): Promise<void> {
  if (existsSync(temporalBinary)) return;
  if (!hasCommand('go'))
    throw new StackError('temporal: the Go toolchain is missing; install Go >= 1.25 to build the Temporal CLI.');
  await steps.command(
    {
      doing: `building the Temporal CLI v${versions.temporalCli} from source`,
      done: 'built the Temporal CLI',
      expect: 'first run only, about 3-6 minutes on 2 cores, longer if they are busy',
      abortable: true,
    },
    'go',
    ['install', ...goBuildFlags, `github.com/temporalio/cli/cmd/temporal@v${versions.temporalCli}`],
    { GOBIN: dirname(temporalBinary), CGO_ENABLED: '0' },
  );
}

function start(): void {
  mkdirSync(join(dataDir, 'temporal'), { recursive: true });
  const searchAttributes = local.searchAttributes.flatMap(({ name, cliType }) => [
    '--search-attribute',
    `${name}=${cliType}`,
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

async function withConnection<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: local.temporalAddress, connectTimeout: 2000 });
  try {
    return await work(connection);
  } finally {
    await connection.close();
  }
}

/**
 * The start flags register the search attributes of a fresh server; this adds any that src/search-attributes.ts
 * gained since the server started, so a running stack follows the code without a restart.
 */
async function configure(steps: Steps): Promise<void> {
  await withConnection(async (connection) => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = local.searchAttributes.filter(({ name }) => !(name in (customAttributes ?? {})));
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

export const temporal: Component = {
  name: 'temporal',
  what: `the Temporal dev server with search attributes ${local.searchAttributes.map(({ name }) => name).join(', ')}`,
  address: `${local.temporalAddress} (Web UI http://127.0.0.1:${local.temporalUiPort})`,
  ports: [local.temporalPort, local.temporalUiPort],
  after: [],
  startTimeoutMs: 60_000,
  provision,
  start,
  async health() {
    try {
      const response = await withConnection((connection) => connection.healthService.check({}));
      return response.status === temporalProto.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING
        ? healthy
        : unhealthy(`health check answered status ${response.status}`);
    } catch (error) {
      return unhealthy(`not answering on ${local.temporalAddress} (${errorText(error)})`);
    }
  },
  configure,
};
