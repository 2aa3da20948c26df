import { type Component, components } from './components.js';
import { type Health, StackError, isPortOpen, logFile, ownPid, stopDaemon, waitUntilHealthy } from './process.js';

export type ComponentName = 'temporal' | 'mariadb' | 'kafka' | 'debezium' | 'smtp-sink';

function byName(name: ComponentName): Component {
  const component = components.find((c) => c.name === name);
  if (!component) throw new StackError(`unknown component ${name}`);
  return component;
}

/** Provisions, starts and configures one component unless it already runs; returns once it is healthy. */
async function bringUp(component: Component, report: (line: string) => void = () => {}): Promise<void> {
  const started = Date.now();
  if (ownPid(component.name) === undefined) {
    for (const port of component.ports) {
      if (await isPortOpen(port)) {
        throw new StackError(
          `${component.name}: port ${port} is taken by a process this stack did not start; stop it or free the port.`,
        );
      }
    }
    component.provision();
    component.start();
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
    const configured = await waitUntilHealthy(() => component.health(), component.startTimeoutMs);
    if (!configured.healthy)
      throw new StackError(`${component.name}: ${configured.reason}; see ${logFile(component.name)}.`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  report(`up      ${component.name.padEnd(10)} ${component.address}  [pid ${ownPid(component.name)}, ${seconds}s]`);
}

/** Brings every component up, in dependency order. */
export async function stackUp(report: (line: string) => void = () => {}): Promise<void> {
  for (const component of components) await bringUp(component, report);
}

export async function stackStatus(): Promise<
  { name: string; address: string; health: Health; pid: number | undefined }[]
> {
  const rows = [];
  for (const component of components) {
    rows.push({
      name: component.name,
      address: component.address,
      health: await component.health(),
      pid: ownPid(component.name),
    });
  }
  return rows;
}

/** Stops what the stack started, in reverse dependency order. */
export async function stackDown(report: (line: string) => void = () => {}): Promise<void> {
  for (const component of [...components].reverse()) {
    const stopped = await stopDaemon(component.name);
    report(`${stopped ? 'stopped' : 'not running'} ${component.name}`);
  }
}

/** Stops one component (SIGKILL when `kill`, else SIGTERM) and brings it back: for tests of restarts. */
export async function restart(name: ComponentName, { kill = false } = {}): Promise<void> {
  await stopDaemon(name, kill ? 0 : 20_000);
  await bringUp(byName(name));
}
