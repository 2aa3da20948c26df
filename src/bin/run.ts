import { NativeConnection } from '@temporalio/worker';
import type { Pool } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createPool } from '../db/pool.js';
import { defaultTemporalMetricsPorts } from '../metrics.js';
import { installTemporalRuntime } from '../workers/runtime.js';
/**
 * Runs a process's main function: a start-up failure (bad configuration, a dependency not reachable) is one
 * sentence on stderr and exit code 1, never a stack trace. `main` resolves once the process has shut down.
 */
export function runProcess(name: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`${name} stopped: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

/** Resolves on the first SIGTERM or SIGINT. */
export function shutdownRequested(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/** Wraps a connection attempt so its failure names what could not be reached. */
export async function connectTo<T>(what: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot connect to ${what}: ${reason}`);
  }
}

/** A MySQL pool whose first query has answered. */
export async function connectToMysql(config: Config): Promise<Pool> {
  const pool = createPool(config);
  await connectTo(`MySQL at ${config.MYSQL_HOST}:${config.MYSQL_PORT}`, () => pool.query('SELECT 1'));
  return pool;
}

/**
 * A worker process's Temporal runtime (its logs through pino, the SDK's metrics on the process's port) and its
 * connection to Temporal; the runtime must be installed before the first connection.
 */
export async function connectWorkerToTemporal(
  name: keyof typeof defaultTemporalMetricsPorts,
  config: Config,
  log: Logger,
): Promise<{ connection: NativeConnection; temporalMetrics: string | undefined }> {
  const temporalMetrics = installTemporalRuntime(
    log,
    config.METRICS_HOST,
    config.TEMPORAL_METRICS_PORT ?? defaultTemporalMetricsPorts[name],
  );
  const connection = await connectTo(`Temporal at ${config.TEMPORAL_ADDRESS}`, () =>
    NativeConnection.connect({ address: config.TEMPORAL_ADDRESS }),
  );
  return { connection, temporalMetrics };
}
