import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type StackDirs, activeProfile, stackDirs } from './paths.js';

/** A stack step that cannot go on; its message is the one sentence the user sees. */
export class StackError extends Error {}

const pidFile = (dirs: StackDirs, name: string): string => join(dirs.run, `${name}.pid`);
export const logFile = (dirs: StackDirs, name: string): string => join(dirs.logs, `${name}.log`);

/** The pid of a process this stack (the profile whose folders these are) started and that is still alive, if any. */
export function ownPid(dirs: StackDirs, name: string): number | undefined {
  if (!existsSync(pidFile(dirs, name))) return undefined;
  const pid = Number(readFileSync(pidFile(dirs, name), 'utf8'));
  return isAlive(pid) ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a long-running server detached from this process, output appended to its log file. */
export function startDaemon(
  dirs: StackDirs,
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): number {
  mkdirSync(dirs.logs, { recursive: true });
  mkdirSync(dirs.run, { recursive: true });
  const out = openSync(logFile(dirs, name), 'a');
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  if (child.pid === undefined) throw new StackError(`${name}: could not start ${command}.`);
  child.unref();
  writeFileSync(pidFile(dirs, name), String(child.pid));
  return child.pid;
}

/** Sends `signal` (SIGTERM), waits for the process group to exit, then SIGKILL. Returns whether one was running. */
export async function stopDaemon(
  dirs: StackDirs,
  name: string,
  graceMs = 20_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<boolean> {
  const pid = ownPid(dirs, name);
  rmSync(pidFile(dirs, name), { force: true });
  if (pid === undefined) return false;
  signalGroup(pid, graceMs === 0 ? 'SIGKILL' : signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(100);
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function isPortOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A step stopped because another component failed first; its own message is not the one to show. */
export class StackAborted extends StackError {}

/**
 * Runs a provisioning command to completion without blocking the event loop (so other components provision and
 * start meanwhile), its output appended to `<name>-provision.log` in the logs of `dirs` (the active profile's);
 * rejects with a one-sentence reason naming that log.
 */
export async function runCommand(
  name: string,
  what: string,
  command: string,
  args: string[],
  {
    env = {},
    signal,
    dirs = stackDirs(activeProfile),
  }: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; dirs?: StackDirs } = {},
): Promise<void> {
  mkdirSync(dirs.logs, { recursive: true });
  const log = logFile(dirs, `${name}-provision`);
  const out = openSync(log, 'a');
  try {
    const child = spawn(command, args, { stdio: ['ignore', out, out], env: { ...process.env, ...env }, signal });
    const [code, exitSignal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode, closeSignal) => resolve([exitCode, closeSignal]));
    }).catch((error: unknown) => {
      if (signal?.aborted) throw new StackAborted(`${name}: ${what} stopped because another component failed.`);
      throw new StackError(`${name}: ${what} failed: could not run ${command} (${errorText(error)}).`);
    });
    if (signal?.aborted) throw new StackAborted(`${name}: ${what} stopped because another component failed.`);
    if (code !== 0)
      throw new StackError(`${name}: ${what} failed (${code === null ? exitSignal : `exit ${code}`}); see ${log}.`);
  } finally {
    closeSync(out);
  }
}

/**
 * Cheaper than a plain `go install`: no DWARF from the compiler (`-dwarf=false`) nor in the binary (`-s -w`), so
 * every package compiles and a large binary links with less work; `-trimpath` keeps the build's paths out.
 */
export const goBuildFlags = ['-trimpath', '-gcflags=all=-dwarf=false', '-ldflags=-s -w'];

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Whether an executable is on PATH. */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Polls `check` until it returns healthy, the time runs out or `signal` aborts; returns the last reason otherwise. */
export async function waitUntilHealthy(
  check: () => Promise<Health>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Health> {
  const deadline = Date.now() + timeoutMs;
  let health = await check();
  while (!health.healthy && Date.now() < deadline && !signal?.aborted) {
    await sleep(500);
    health = await check();
  }
  return health;
}

export type Health = { healthy: true } | { healthy: false; reason: string };
export const healthy: Health = { healthy: true };
export const unhealthy = (reason: string): Health => ({ healthy: false, reason });
