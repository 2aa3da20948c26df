/**
 * The local stack, all on 127.0.0.1, provisioned from package registries and cached outside the repository, in two
 * profiles that run side by side: `dev` (the Temporal dev server, MariaDB, one Kafka broker (KRaft), one Kafka
 * Connect worker with Debezium, an SMTP sink) and `cluster` (the Temporal server on PostgreSQL with its UI, MariaDB,
 * three Kafka brokers, two Connect workers, an SMTP sink).
 *
 *   tsx stack/cli.ts up         provision what is missing, start what is not running, wait until all are healthy
 *   tsx stack/cli.ts provision  only download, build and initialise what is missing (starts nothing): to time it
 *   tsx stack/cli.ts status     one line per component; exit 0 only when all are healthy
 *   tsx stack/cli.ts down       stop what this stack started
 *
 * Each takes `--profile dev|cluster` (default: ORDERLY_STACK_PROFILE, else dev).
 */
import { Command, Option } from 'commander';
import { type Stack, stackDown, stackOf, stackProvision, stackStatus, stackUp } from './lifecycle.js';
import { activeProfile, cacheDir, parseProfile, profileNames } from './paths.js';
import { StackError } from './process.js';

const program = new Command('stack').description('Orderly local stack');

const seconds = (since: number): string => `${Math.round((Date.now() - since) / 1000)} s`;

/** A stack command that takes `--profile`, its action given that profile's stack. */
function command(name: string, description: string, action: (stack: Stack) => Promise<void>): void {
  program
    .command(name)
    .description(description)
    .addOption(
      new Option('--profile <name>', 'which stack: dev, or cluster (production engines)')
        .choices(profileNames)
        .default(activeProfile),
    )
    .action(async ({ profile }: { profile: string }) => action(stackOf(parseProfile(profile))));
}

/** The dev profile's lines are as they were before profiles; another profile is named in them. */
const which = ({ profile }: Stack): string => (profile === 'dev' ? '' : ` (profile ${profile})`);

command('up', 'provision and start every component, return when all are healthy', async (stack) => {
  const started = Date.now();
  console.log(`stack${which(stack)}: cache ${cacheDir}, logs ${stack.dirs.logs}`);
  await stackUp(console.log, stack);
  console.log(`stack${which(stack)}: all components healthy (${seconds(started)})`);
});

command('provision', 'download, build and initialise what is missing, start nothing', async (stack) => {
  const started = Date.now();
  console.log(`stack${which(stack)}: cache ${cacheDir}, logs ${stack.dirs.logs}`);
  await stackProvision(console.log, stack);
  console.log(`stack${which(stack)}: all components provisioned (${seconds(started)})`);
});

command('status', 'print the health of every component', async (stack) => {
  const rows = await stackStatus(stack);
  for (const { name, address, health, pid } of rows) {
    const state = health.healthy ? 'healthy' : `unhealthy: ${health.reason}`;
    console.log(`${name.padEnd(10)} ${address}  ${state}${pid === undefined ? '' : ` [pid ${pid}]`}`);
  }
  process.exitCode = rows.every((row) => row.health.healthy) ? 0 : 1;
});

command('down', 'stop what the stack started', async (stack) => {
  await stackDown(console.log, stack);
});

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof StackError ? `stack: ${error.message}` : error);
  process.exitCode = 1;
});
