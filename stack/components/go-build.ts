import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { StackError, hasCommand } from '../process.js';
import type { Steps } from '../steps.js';

/** A binary built with `go install <package>@v<version>` into its version-keyed cache folder. */
export interface GoBinary {
  /** Where it lands: GOBIN is its folder; its name is the package path's last element. */
  path: string;
  /** e.g. `go.temporal.io/server/cmd/server`. */
  packagePath: string;
  version: string;
  /** e.g. 'the Temporal server'. */
  what: string;
  expect?: string;
  /** Extra `go install` flags, e.g. process.ts's goBuildFlags. */
  flags?: string[];
}

/** Builds in flight, by target path: two components waiting on one binary share one build. */
const pending = new Map<string, Promise<void>>();

/**
 * Builds `binary` from the Go module proxy unless it is in the cache (CGO off: a static binary); a `go install`
 * writes its result whole or not at all, so it may stop halfway when another component fails.
 */
export function goInstall(steps: Steps, binary: GoBinary): Promise<void> {
  if (existsSync(binary.path)) return Promise.resolve();
  if (!hasCommand('go'))
    throw new StackError(
      `${steps.component}: the Go toolchain is missing; install Go >= 1.25 to build ${binary.what}.`,
    );
  let build = pending.get(binary.path);
  if (build === undefined) {
    build = steps
      .command(
        {
          doing: `building ${binary.what} v${binary.version} from source`,
          done: `built ${binary.what}`,
          ...(binary.expect === undefined ? {} : { expect: binary.expect }),
          abortable: true,
        },
        'go',
        ['install', ...(binary.flags ?? []), `${binary.packagePath}@v${binary.version}`],
        { GOBIN: dirname(binary.path), CGO_ENABLED: '0' },
      )
      .finally(() => pending.delete(binary.path));
    pending.set(binary.path, build);
  }
  return build;
}
