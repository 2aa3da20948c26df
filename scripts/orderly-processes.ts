import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { profiles } from '../stack/local-settings.js';
import { type ProfileName, activeProfile, parseProfile, repoRoot, stackDirs } from '../stack/paths.js';
import { defaultMetricsPorts, defaultTemporalMetricsPorts } from '../src/metrics.js';

export type OrderlyProcessName = 'ingest' | 'workflow-worker' | 'email-worker' | 'webhook-worker' | 'api' | 'bounces';

export interface OrderlyProcess {
  name: OrderlyProcessName;
  child: ChildProcess;
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, no cleanup. */
  kill(): Promise<void>;
}

/**
 * Children still running when this process exits die with it: after a crash of a test runner or a benchmark,
 * processes left behind hold their metrics ports and poll the task queues, and the next run fails to start.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Where a process started here serves its metrics, and the Temporal SDK's (workers only): src/metrics.ts's defaults,
 * moved by the stack profile's offset so tests on two profiles can run at once.
 */
export function metricsPortsOf(
  name: keyof typeof defaultMetricsPorts,
  profile: ProfileName = activeProfile,
): { metrics: number; temporal?: number } {
  const offset = profiles[profile].metricsPortOffset;
  const temporal: number | undefined = (defaultTemporalMetricsPorts as Record<string, number>)[name];
  return {
    metrics: defaultMetricsPorts[name] + offset,
    ...(temporal === undefined ? {} : { temporal: temporal + offset }),
  };
}

const servesMetrics = (name: string): name is keyof typeof defaultMetricsPorts => name in defaultMetricsPorts;

/** METRICS_PORT and TEMPORAL_METRICS_PORT when the profile moves them; nothing on the dev profile. */
function profileMetricsEnv(name: OrderlyProcessName, profile: ProfileName): NodeJS.ProcessEnv {
  if (profiles[profile].metricsPortOffset === 0 || !servesMetrics(name)) return {};
  const { metrics, temporal } = metricsPortsOf(name, profile);
  return {
    METRICS_PORT: String(metrics),
    ...(temporal === undefined ? {} : { TEMPORAL_METRICS_PORT: String(temporal) }),
  };
}

/**
 * Starts one of Orderly's real entry points (`src/bin/<name>.ts`) as a child process and resolves once it
 * logs that it started. Its output goes to `<profile's state dir>/logs/<logPrefix><name>.log`.
 */
export async function startOrderly(
  name: OrderlyProcessName,
  env: NodeJS.ProcessEnv = {},
  { timeoutMs = 60_000, logPrefix = 'test-' } = {},
): Promise<OrderlyProcess> {
  // The stack profile the process works against: the one its environment names (orderlyEnv), else this process's.
  const stackProfile = parseProfile(env.ORDERLY_STACK_PROFILE ?? activeProfile);
  const { logs } = stackDirs(stackProfile);
  mkdirSync(logs, { recursive: true });
  const logPath = join(logs, `${logPrefix}${name}.log`);
  const log = createWriteStream(logPath, { flags: 'a' });
  // ORDERLY_CPU_PROFILE_DIR=<dir>: each process writes a V8 CPU profile there when it exits (profile before tuning).
  const profile = process.env.ORDERLY_CPU_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ORDERLY_CPU_PROFILE_DIR}`]
    : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', join(repoRoot, 'src', 'bin', `${name}.ts`)], {
    cwd: repoRoot,
    // Webhooks may reach 127.0.0.1 (the local receivers of tests, benchmarks and the demo), nothing else inside.
    env: {
      WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      ...process.env,
      ...profileMetricsEnv(name, stackProfile),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.pipe(log);
  const exited = once(child, 'exit') as Promise<[number | null]>;
  running.add(child);
  void exited.then(() => running.delete(child));
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${timeoutMs} ms; see ${logPath}`)),
      timeoutMs,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.write(`${line}\n`);
      if (/"msg":"[a-z -]+ started"/.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(([code]) => reject(new Error(`${name} exited with code ${code} before it started`)));
  });
  await started;
  return {
    name,
    child,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = await exited;
      return code;
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The processes of the pipeline, started side by side. */
export async function startPipeline(
  env: NodeJS.ProcessEnv = {},
  options: { logPrefix?: string } = {},
): Promise<OrderlyProcess[]> {
  return Promise.all(
    (['workflow-worker', 'email-worker', 'webhook-worker', 'ingest'] as const).map((name) =>
      startOrderly(name, env, options),
    ),
  );
}

export async function stopAll(processes: OrderlyProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => p.stop()));
}
