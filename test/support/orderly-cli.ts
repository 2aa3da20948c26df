import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../stack/paths.js';

/** Runs the real `orderly` command (bin/orderly.mjs) and returns what it printed and its exit code. */
export function orderly(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin', 'orderly.mjs'), ...args],
      { cwd: repoRoot, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
      },
    );
  });
}
