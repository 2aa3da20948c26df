import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';

/** The Temporal SDK's logs (worker, workflows, activities) as the process's pino JSON lines. */
class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly pino: Logger) {}
  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    const { error, ...rest } = meta as LogMetadata & { error?: unknown };
    const fields = error === undefined ? rest : { ...rest, err: error };
    switch (level) {
      case 'TRACE':
        return this.pino.trace(fields, message);
      case 'DEBUG':
        return this.pino.debug(fields, message);
      case 'INFO':
        return this.pino.info(fields, message);
      case 'WARN':
        return this.pino.warn(fields, message);
      case 'ERROR':
        return this.pino.error(fields, message);
    }
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/**
 * Installs the Temporal runtime of a worker process: its logs through pino, and the SDK's own metrics (task
 * slots, poll latencies, workflow cache...) on a Prometheus endpoint unless the port is 0. Must run before
 * the first connection to Temporal. Returns the metrics URL, if any.
 */
export function installTemporalRuntime(log: Logger, metricsHost: string, metricsPort: number): string | undefined {
  Runtime.install({
    logger: new PinoTemporalLogger(log),
    ...(metricsPort === 0
      ? {}
      : { telemetryOptions: { metrics: { prometheus: { bindAddress: `${metricsHost}:${metricsPort}` } } } }),
  });
  return metricsPort === 0 ? undefined : `http://${metricsHost}:${metricsPort}/metrics`;
}
