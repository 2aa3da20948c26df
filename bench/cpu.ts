import { readFileSync } from 'node:fs';

const ticksPerSecond = 100;

/** User + system CPU seconds a process has used so far (Linux /proc), or undefined if it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Measures CPU per named process over a window: percent of one core. */
export function cpuMeter(pids: Record<string, number | undefined>) {
  const start = Date.now();
  const before = Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => [name, pid === undefined ? undefined : cpuSeconds(pid)]),
  );
  return {
    read(): Record<string, number> {
      const seconds = (Date.now() - start) / 1000;
      const result: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids)) {
        const now = pid === undefined ? undefined : cpuSeconds(pid);
        const was = before[name];
        if (now !== undefined && was !== undefined) result[name] = Math.round(((now - was) / seconds) * 1000) / 10;
      }
      return result;
    },
  };
}
