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
