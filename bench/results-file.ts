import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { installedTemporalCli, repoRoot, versions } from '../stack/paths.js';

/** The commit a result was measured on, marked `-dirty` when the checkout had uncommitted changes. */
export function measuredCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  try {
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? '-dirty' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** What a result was measured on: the code, the machine and the versions of the stack's parts. */
export function measuredOn() {
  return {
    commit: measuredCommit(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
    },
    versions: {
      node: process.version,
      temporalCli: installedTemporalCli().version,
      kafka: versions.kafka,
      debezium: versions.debezium,
    },
  };
}

/** Writes a run's result to bench/results/<prefix><time>.json and returns the path. */
export function writeResult(prefix: string, result: { when: string }): string {
  const resultsDir = join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  return writeResultTo(join(resultsDir, `${prefix}${result.when.replace(/[:.]/g, '-')}.json`), result);
}

/** Writes a result to `file` (JSON) and returns the path. */
export function writeResultTo(file: string, result: object): string {
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
