/**
 * `npm run bench -- --profile cluster`: the benchmark on the cluster profile, with the dev profile's figures of the
 * same run beside it. Each profile is measured by its own `bench/run.ts` process given that profile's addresses,
 * while the other profile's stack is stopped so its idle servers take no CPU from the one measured (the dev stack
 * is left stopped at the end). The two results are printed side by side and written together to
 * bench/results/profiles-<time>.json.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackDown, stackOf } from '../stack/lifecycle.js';
import { orderlyEnv } from '../stack/local-settings.js';
import { type ProfileName, repoRoot } from '../stack/paths.js';
import { writeResult } from './results-file.js';

/** The part of bench/run.ts's result the comparison shows. */
interface PhaseFigures {
  name: string;
  delivered_per_s: number;
  p50_ms: number;
  p99_ms: number;
  lost: number;
  duplicates: Record<string, number>;
  order_violations: number;
}
interface BenchResult {
  when: string;
  ceiling_wps: number;
  raw_sink_mps: number;
  phases: PhaseFigures[];
  sustained: { offered_per_s: number; delivered_per_s: number; p50_ms: number; p99_ms: number } | null;
  overload: (PhaseFigures & { drain_s: number }) | null;
  overload_ratio_to_ceiling: number | null;
  per_event: { workflow_tasks: number; history_events: number };
  failed_phases: { name: string }[];
}

/** The command line given to `npm run bench`, less `--profile <name>`: what each profile's run is given. */
export function argumentsWithoutProfile(argv: string[] = process.argv.slice(2)): string[] {
  return argv.filter((arg, i) => !arg.startsWith('--profile') && argv[i - 1] !== '--profile');
}

/** Runs bench/run.ts with `args` against `profile`'s stack, the other profile's stack stopped; returns its result. */
async function benchOn(profile: ProfileName, args: string[]): Promise<BenchResult> {
  const other: ProfileName = profile === 'dev' ? 'cluster' : 'dev';
  console.log(`bench: stopping the ${other} profile's stack while the ${profile} profile is measured`);
  await stackDown(() => {}, stackOf(other));
  const runDir = join(repoRoot, '.stack', 'bench');
  mkdirSync(runDir, { recursive: true });
  const resultFile = join(runDir, `${profile}-${Date.now()}.json`);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'bench', 'run.ts'), ...args, '--result-file', resultFile],
    { env: { ...process.env, ...orderlyEnv(profile) }, stdio: 'inherit' },
  );
  const [code] = (await once(child, 'exit')) as [number | null];
  // Exit code 1 is a run whose phases failed their checks: its figures still belong in the comparison.
  if (code !== 0 && code !== 1) throw new Error(`the ${profile} profile's run exited with code ${code}`);
  return JSON.parse(readFileSync(resultFile, 'utf8')) as BenchResult;
}

/** One line per figure, the two profiles side by side. */
function comparisonRows(dev: BenchResult, other: BenchResult): Record<string, { dev: string; other: string }> {
  const rows: Record<string, { dev: string; other: string }> = {};
  const add = (label: string, pick: (r: BenchResult) => number | string | undefined) =>
    (rows[label] = { dev: String(pick(dev) ?? '-'), other: String(pick(other) ?? '-') });
  add('ceiling, no-op workflows/s', (r) => r.ceiling_wps);
  add('raw SMTP sink, mails/s', (r) => r.raw_sink_mps);
  for (const [i, phase] of dev.phases.entries()) {
    const at = (r: BenchResult) => r.phases[i];
    add(`${phase.name}: delivered/s`, (r) => at(r)?.delivered_per_s);
    add(`${phase.name}: p50 / p99 ms`, (r) => at(r) && `${at(r)!.p50_ms} / ${at(r)!.p99_ms}`);
  }
  add('sustained: offered/s kept up with', (r) => r.sustained?.offered_per_s ?? 'none');
  add('sustained: p50 / p99 ms', (r) => (r.sustained ? `${r.sustained.p50_ms} / ${r.sustained.p99_ms}` : '-'));
  add('overload: backlog drained, events/s', (r) => r.overload?.delivered_per_s);
  add('overload over the ceiling', (r) => r.overload_ratio_to_ceiling ?? '-');
  add(
    'workflow tasks / history events per event',
    (r) => `${r.per_event.workflow_tasks} / ${r.per_event.history_events}`,
  );
  const phases = (r: BenchResult) => [...r.phases, ...(r.overload ? [r.overload] : [])];
  const count = (p: PhaseFigures, key: 'lost' | 'duplicates' | 'order_violations') =>
    key === 'duplicates' ? Object.values(p.duplicates).reduce((a, b) => a + b, 0) : p[key];
  const sum = (r: BenchResult, key: 'lost' | 'duplicates' | 'order_violations') =>
    phases(r).reduce((total, p) => total + count(p, key), 0);
  add(
    'lost / dup / order violations',
    (r) => `${sum(r, 'lost')} / ${sum(r, 'duplicates')} / ${sum(r, 'order_violations')}`,
  );
  add('failed phases', (r) => r.failed_phases.map((p) => p.name).join(', ') || 'none');
  return rows;
}

/** Measures the dev profile, then `profile`, and prints and writes both. */
export async function compareProfiles(profile: ProfileName, args: string[]): Promise<void> {
  const dev = await benchOn('dev', args);
  const other = await benchOn(profile, args);
  const rows = comparisonRows(dev, other);
  console.log(`\nOrderly benchmark, dev and ${profile} profiles in one run`);
  console.table(
    Object.fromEntries(Object.entries(rows).map(([label, row]) => [label, { dev: row.dev, [profile]: row.other }])),
  );
  const result = { when: new Date().toISOString(), dev, [profile]: other };
  const file = writeResult('profiles-', result);
  console.log(`results: ${file}`);
  if (dev.failed_phases.length + other.failed_phases.length > 0) process.exitCode = 1;
}
