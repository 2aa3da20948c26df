import pino from 'pino';

/** JSON logs on stdout; each process names itself so mixed logs stay readable. */
export function createLogger(name: string, level: string): pino.Logger {
  return pino({ name, level });
}
