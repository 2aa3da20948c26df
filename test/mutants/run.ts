/**
 * `npm run test:mutants`: checks the checkers. Each mutant is a known-bad change to Orderly (a broken promise a
 * reviewer could miss); it is applied to a scratch copy of the committed code, and the fault scenario or e2e test
 * that must catch it is run there against the local stack. A mutant whose check passes has survived: the check
 * cannot see that breach, and the run fails. Each check also runs once on the unchanged copy, which it must pass:
 * a check that fails everything catches nothing.
 *
 *   npm run test:mutants [-- --only "first attempt sent twice"]
 *
 * Not part of `npm test` (about 15 minutes); its output is committed as bench/results/mutants-latest.json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { stackUp } from '../../stack/lifecycle.js';
import { repoRoot, stackDirs } from '../../stack/paths.js';
import { measuredCommit, writeResultTo } from '../../bench/results-file.js';

/** A command run in the scratch copy; it passes when it exits 0. */
interface Check {
  name: string;
  command: string[];
}

const faultScenario = (scenario: string): Check => ({
  name: `fault scenario "${scenario}"`,
  command: ['npx', 'tsx', 'test/faults/run.ts', '--only', scenario, '--seconds', '30', '--results', 'faults.json'],
});
const e2eTest = (file: string): Check => ({
  name: `e2e ${file}`,
  command: ['npx', 'vitest', 'run', '--project', 'stack', file],
});

interface Mutant {
  name: string;
  file: string;
  /** Must occur exactly once in `file`: a mutant that no longer applies is an error, not a pass. */
  replace: string;
  with: string;
  caughtBy: Check;
}

const firstAttemptSend = `return await email.sendEmail({
      template,
      event,
      userId: recipient.userId,
      username: recipient.username,
      to: recipient.email,
    });`;

const mutants: Mutant[] = [
  {
    name: 'email retries cut to one attempt',
    file: 'src/workflows/proxies.ts',
    replace: `  maximumInterval: '30s',\n  maximumAttempts: 10,`,
    with: `  maximumInterval: '30s',\n  maximumAttempts: 1,`,
    caughtBy: faultScenario('SMTP answers 451 for 20 s'),
  },
  {
    name: 'predecessor wait skipped',
    file: 'src/activities/first-attempt.ts',
    replace: "if (predecessor.state === 'running') return { kind: 'waiting'",
    with: "if (predecessor.state === ('never' as string)) return { kind: 'waiting'",
    caughtBy: faultScenario('kill -9 workflow worker'),
  },
  {
    name: 'first attempt sent twice',
    file: 'src/activities/first-attempt.ts',
    replace: firstAttemptSend,
    with: `${firstAttemptSend.replace('return ', '')}\n    ${firstAttemptSend}`,
    caughtBy: faultScenario('kill -9 workflow worker'),
  },
  {
    name: 'delivery recorded before it is sent',
    file: 'src/activities/first-attempt.ts',
    replace: 'const sent = await trySend(email, input, recipient);',
    with: `await ledger.recordDelivered({
      notificationId: notificationKey(input.event),
      userId: recipient.userId,
      channel: recipient.channel,
      providerMessageId: 'recorded-before-sending',
      attempts: 1,
    });
    const sent = await trySend(email, input, recipient);`,
    caughtBy: e2eTest('test/e2e/delivery-failures.test.ts'),
  },
];

const options = new Command('test:mutants')
  .option('--only <names>', 'comma-separated mutant names')
  .option('--results <file>', 'where the JSON results go', join(repoRoot, 'bench', 'results', 'mutants-latest.json'))
  .parse()
  .opts<{ only?: string; results: string }>();

/** A copy of the committed tree (git archive of HEAD) sharing this checkout's dependencies and running stack. */
async function scratchCopy(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'orderly-mutant-'));
  await run(['sh', '-c', `git archive HEAD | tar -x -C ${dir}`], repoRoot);
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Runs a command, its output prefixed; resolves with its exit code and the last lines it printed. */
function run(command: string[], cwd: string, prefix = ''): Promise<{ code: number | null; tail: string[] }> {
  const child = spawn(command[0]!, command.slice(1), {
    cwd,
    env: { ...process.env, ORDERLY_STACK_DIR: stackDirs('dev').state, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      if (prefix) console.log(`${prefix}${line}`);
      tail.push(line);
      if (tail.length > 15) tail.shift();
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, tail })));
}

function mutate(dir: string, mutant: Mutant): void {
  const path = join(dir, mutant.file);
  const source = readFileSync(path, 'utf8');
  const occurrences = source.split(mutant.replace).length - 1;
  if (occurrences !== 1)
    throw new Error(`the mutant "${mutant.name}" no longer applies: ${mutant.file} has its text ${occurrences} times`);
  writeFileSync(path, source.replace(mutant.replace, mutant.with));
}

interface Outcome {
  name: string;
  check: string;
  /** For a mutant: caught when its check failed. For a control: the check passed on unchanged code. */
  verdict: 'caught' | 'SURVIVED' | 'passes unchanged' | 'FAILS UNCHANGED';
  tail: string[];
}

async function runOne(name: string, check: Check, mutant?: Mutant): Promise<Outcome> {
  const dir = await scratchCopy();
  try {
    if (mutant) mutate(dir, mutant);
    console.log(`mutants: ${name}: ${check.name}...`);
    const { code, tail } = await run(check.command, dir, '  | ');
    const passed = code === 0;
    const verdict = mutant ? (passed ? 'SURVIVED' : 'caught') : passed ? 'passes unchanged' : 'FAILS UNCHANGED';
    console.log(`mutants: ${name}: ${verdict}`);
    return { name, check: check.name, verdict, tail };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const selected = options.only ? mutants.filter((m) => options.only!.split(',').includes(m.name)) : mutants;
  if (selected.length === 0)
    throw new Error(`no mutant named ${options.only}; known: ${mutants.map((m) => m.name).join(', ')}`);
  await stackUp();
  const outcomes: Outcome[] = [];
  const checks = new Map(selected.map((m) => [m.caughtBy.name, m.caughtBy]));
  for (const check of checks.values()) outcomes.push(await runOne('control (no mutant)', check));
  for (const mutant of selected) outcomes.push(await runOne(mutant.name, mutant.caughtBy, mutant));
  console.log('\nMutation check');
  console.table(outcomes.map(({ name, check, verdict }) => ({ mutant: name, check, verdict })));
  const failed = outcomes.filter((o) => o.verdict === 'SURVIVED' || o.verdict === 'FAILS UNCHANGED');
  writeResultTo(options.results, {
    when: new Date().toISOString(),
    commit: measuredCommit(),
    outcomes,
    failed: failed.length > 0,
  });
  console.log(`results: ${options.results}`);
  if (failed.length > 0) {
    console.error(`test:mutants: ${failed.map((o) => `${o.name} (${o.check}): ${o.verdict}`).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(`test:mutants: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
