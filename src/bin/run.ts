import type { Logger } from 'pino';

/**
 * Runs a process's main function: a start-up failure is one sentence on stderr and exit code 1,
 * never a stack trace loop. `main` resolves once the process has shut down cleanly.
 */
export function runProcess(name: string, main: () => Promise<void>, log?: Logger): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (log) log.fatal({ err: error }, `${name} stopped: ${message}`);
      else console.error(`${name} stopped: ${message}`);
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
