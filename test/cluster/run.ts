/**
 * `npm run test:cluster`: Orderly on the cluster profile of the local stack (the Temporal server on PostgreSQL, three
 * Kafka brokers, two Connect workers). Brings that stack up beside the dev one, runs the 200-event pipeline test and
 * the operators' tests against it, then the fault scenarios that only a cluster has (a broker, a Connect worker, the
 * Temporal server and its database, one of two workflow workers), judged like `npm run test:faults`.
 *
 *   npm run test:cluster [-- --skip-e2e] [-- --seconds 60]
 *
 * The stack stays up afterwards, as `npm test` leaves the dev one: `npm run stack:down -- --profile cluster`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Command } from 'commander';
import { stackOf, stackUp } from '../../stack/lifecycle.js';
import { orderlyEnv } from '../../stack/local-settings.js';
import { repoRoot } from '../../stack/paths.js';

const options = new Command('test:cluster')
  .option('--skip-e2e', 'only the fault scenarios')
  .option('--skip-faults', 'only the end-to-end tests')
  .option('--seconds <s>', 'seconds of load per fault scenario', '60')
  .parse()
  .opts<{ skipE2e?: boolean; skipFaults?: boolean; seconds: string }>();

/** Runs a command with the cluster's addresses in its environment; resolves with whether it exited 0. */
async function run(what: string, command: string, args: string[]): Promise<boolean> {
  console.log(`\ntest:cluster: ${what}`);
  const child = spawn(command, args, {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, ...orderlyEnv('cluster') },
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code === 0;
}

async function main(): Promise<void> {
  console.log('test:cluster: bringing up the cluster profile of the local stack...');
  await stackUp((line) => console.log(`  ${line}`), stackOf('cluster'));
  const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
  const results: boolean[] = [];
  if (!options.skipE2e)
    results.push(
      await run('the pipeline and operators end-to-end tests', bin('vitest'), [
        'run',
        '--project',
        'stack',
        'test/e2e/pipeline.test.ts',
        'test/e2e/operators.test.ts',
      ]),
    );
  if (!options.skipFaults) {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
    results.push(
      await run('fault scenarios', bin('tsx'), [
        'test/faults/run.ts',
        '--profile',
        'cluster',
        '--seconds',
        options.seconds,
        '--results',
        join(repoRoot, 'bench', 'results', `faults-cluster-${stamp}.json`),
      ]),
    );
  }
  console.log(`\ntest:cluster: ${results.every(Boolean) ? 'passed' : 'FAILED'}`);
  if (!results.every(Boolean)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`test:cluster: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
