import { type Component, type ComponentName, componentsOf } from './components/index.js';
import { type StackSettings, profiles } from './local-settings.js';
import { type ProfileName, type StackDirs, activeProfile, stackDirs } from './paths.js';
import {
  type Health,
  StackAborted,
  StackError,
  errorText,
  isPortOpen,
  logFile,
  ownPid,
  stopDaemon,
  waitUntilHealthy,
} from './process.js';
import { type Report, Steps } from './steps.js';

export type { ComponentName } from './components/index.js';

/** One profile of the local stack: its addresses, its folders and its components. */
export interface Stack {
  profile: ProfileName;
  settings: StackSettings;
  dirs: StackDirs;
  components: Component[];
}

/** The stack of a profile; the one ORDERLY_STACK_PROFILE names (dev unless set) by default. */
export function stackOf(profile: ProfileName = activeProfile): Stack {
  const settings = profiles[profile];
  const dirs = stackDirs(profile);
  return { profile, settings, dirs, components: componentsOf(settings, dirs) };
}

function byName(name: ComponentName, among: Component[]): Component {
  const component = among.find((c) => c.name === name);
  if (!component) throw new StackError(`unknown component ${name}`);
  return component;
}

/**
 * Runs `work` for every component at once. Each gets `dependencies()`, which resolves once the work of every
 * component it starts `after` is done. The first failure aborts `signal` so the others' long steps stop, and is
 * what this throws once all have settled (not the aborts it caused).
 */
export async function forEachComponent(
  among: Component[],
  work: (component: Component, dependencies: () => Promise<void>, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const abort = new AbortController();
  const runs = new Map<ComponentName, Promise<void>>();
  const run = (component: Component): Promise<void> => {
    const existing = runs.get(component.name);
    if (existing) return existing;
    const dependencies = async (): Promise<void> => {
      await Promise.all(component.after.map((name) => run(byName(name, among))));
    };
    const promise = work(component, dependencies, abort.signal).catch((error: unknown) => {
      abort.abort();
      throw error;
    });
    runs.set(component.name, promise);
    return promise;
  };
  const results = await Promise.allSettled(among.map(run));
  const failures = results.flatMap((result) =>
    result.status === 'rejected'
      ? [result.reason instanceof Error ? result.reason : new Error(errorText(result.reason))]
      : [],
  );
  const cause = failures.find((error) => !(error instanceof StackAborted)) ?? failures[0];
  if (cause !== undefined) throw cause;
}

/**
 * Provisions, starts and configures one component unless it already runs; returns once it is healthy and
 * configured. Provisioning starts at once; the start waits for `dependencies`.
 */
async function bringUp(
  { dirs }: Stack,
  component: Component,
  steps: Steps,
  dependencies: () => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const started = Date.now();
  const { name } = component;
  const wasRunning = ownPid(dirs, name) !== undefined;
  if (!wasRunning) {
    for (const port of component.ports) {
      if (await isPortOpen(port)) {
        throw new StackError(
          `${name}: port ${port} is taken by a process this stack did not start; stop it or free the port.`,
        );
      }
    }
    await component.provision(steps);
  }
  await dependencies();
  if (steps.signal.aborted) throw new StackAborted(`${name}: not started because another component failed.`);
  const waitForHealth = async (): Promise<void> => {
    const health = await waitUntilHealthy(
      async () =>
        ownPid(dirs, name) === undefined ? { healthy: false, reason: 'the process exited' } : component.health(),
      component.startTimeoutMs,
      steps.signal,
    );
    if (steps.signal.aborted) throw new StackAborted(`${name}: stopped waiting because another component failed.`);
    if (!health.healthy)
      throw new StackError(`${name} did not become healthy: ${health.reason}; see ${logFile(dirs, name)}.`);
  };
  if (wasRunning) {
    await waitForHealth();
  } else {
    await steps.run(
      {
        doing: `starting ${component.what}, waiting until it is healthy (up to ${component.startTimeoutMs / 1000} s)`,
        done: 'healthy',
      },
      async () => {
        component.start();
        await waitForHealth();
      },
    );
  }
  if (component.configure) {
    // Configuring a component that was running is a check: its steps say nothing, only news (a migration) is said.
    await component.configure(wasRunning ? steps.quietly() : steps);
    const configured = await waitUntilHealthy(() => component.health(), component.startTimeoutMs, steps.signal);
    if (steps.signal.aborted) throw new StackAborted(`${name}: stopped waiting because another component failed.`);
    if (!configured.healthy) throw new StackError(`${name}: ${configured.reason}; see ${logFile(dirs, name)}.`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  steps.report(`up      ${name.padEnd(10)} ${component.address}  [pid ${ownPid(dirs, name)}, ${seconds}s]`);
}

/**
 * Brings every component up: all provision side by side (the Temporal CLI downloads while the jars do),
 * and each starts as soon as it is provisioned and what it starts after is up.
 */
export async function stackUp(report: Report = () => {}, stack: Stack = stackOf()): Promise<void> {
  await forEachComponent(stack.components, (component, dependencies, signal) =>
    bringUp(stack, component, new Steps(component.name, stack.dirs, report, signal), dependencies),
  );
}

/** Provisions every component side by side and starts nothing: downloads, builds, data directories, config files. */
export async function stackProvision(report: Report = () => {}, stack: Stack = stackOf()): Promise<void> {
  await forEachComponent(stack.components, (component, _dependencies, signal) =>
    component.provision(new Steps(component.name, stack.dirs, report, signal)),
  );
}

export async function stackStatus(
  stack: Stack = stackOf(),
): Promise<{ name: string; address: string; health: Health; pid: number | undefined }[]> {
  const rows = [];
  for (const component of stack.components) {
    rows.push({
      name: component.name,
      address: component.address,
      health: await component.health(),
      pid: ownPid(stack.dirs, component.name),
    });
  }
  return rows;
}

/** Stops what the stack started, those that start after others first. */
export async function stackDown(report: Report = () => {}, stack: Stack = stackOf()): Promise<void> {
  const order = [...stack.components].sort((a, b) => b.after.length - a.after.length);
  for (const component of order) {
    const stopped = await stopDaemon(stack.dirs, component.name, 20_000, component.stopSignal);
    report(`${stopped ? 'stopped' : 'not running'} ${component.name}`);
  }
}

/** Stops one component: SIGKILL when `kill` (a crash), else its stop signal. For fault tests. */
export async function stop(name: ComponentName, { kill = false, stack = stackOf() } = {}): Promise<void> {
  const component = byName(name, stack.components);
  await stopDaemon(stack.dirs, name, kill ? 0 : 20_000, component.stopSignal);
}

/** Stops one component (SIGKILL when `kill`, else its stop signal) and brings it back: for tests of restarts. */
export async function restart(name: ComponentName, { kill = false, stack = stackOf() } = {}): Promise<void> {
  await stop(name, { kill, stack });
  await bringUp(
    stack,
    byName(name, stack.components),
    new Steps(name, stack.dirs, () => {}, new AbortController().signal),
  );
}
