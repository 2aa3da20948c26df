/**
 * `npm run bench`: Orderly's throughput and latency on this machine, every part running locally, in one run.
 *
 * 1. ceiling    a no-op one-activity workflow started as fast as the dev server takes them: workflows/s
 * 2. raw sink   nodemailer pooled sends straight to the SMTP server: mails/s
 * 3. sustained  events inserted into MySQL at fixed rates: delivered/s, p50/p95/p99 from occurred_at to
 *               the SMTP server's acceptance (stamped by the server), backlog over time, CPU per process
 * 4. backlog    N events inserted at once: time until all are delivered
 * Every phase is checked against MySQL's rows: lost, duplicates and order violations make it a failed phase.
 * Prints a table and writes bench/results/<timestamp>.json (and latest.json).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { Command } from 'commander';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { stackUp } from '../stack/lifecycle.js';
import { logDir, repoRoot, versions } from '../stack/paths.js';
import { ownPid } from '../stack/process.js';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { createSmtpTransport } from '../src/workers/email-worker.js';
import { type OrderlyProcess, startPipeline, stopAll } from '../scripts/orderly-processes.js';
import { type AcceptedMail, type PhaseVerdict, judge } from './analysis.js';
import { cpuMeter } from './cpu.js';
import { type LoadFixture, createLoadFixture, eventsSince, insertAtRate, insertEvents, maxEventId } from './load.js';
import type { noopWorkflow } from './workflows/noop.js';

const program = new Command('bench')
  .option('--rates <list>', 'sustained insert rates, events/s', '25,50,100,150')
  .option('--duration <seconds>', 'seconds per sustained rate', '120')
  .option('--backlog <events>', 'events inserted at once in the backlog phase', '10000')
  .option('--ceiling-seconds <seconds>', 'seconds of the ceiling phase', '30')
  .option('--orders <n>', 'orders the events are spread over', '200')
  .option('--sink-port <port>', 'port of the recording SMTP server', '2525')
  .parse();
const options = program.opts<{ rates: string; duration: string; backlog: string; ceilingSeconds: string; orders: string; sinkPort: string }>();
const rates = options.rates.split(',').map(Number);
const durationS = Number(options.duration);
const backlogEvents = Number(options.backlog);
const ceilingSeconds = Number(options.ceilingSeconds);
const orderCount = Number(options.orders);
const sinkPort = Number(options.sinkPort);

const config = loadConfig();
Runtime.install({ logger: new DefaultLogger('WARN') });

/** Reads what the recording sink has accepted so far. */
function readAccepted(file: string): AcceptedMail[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AcceptedMail);
}

async function measureCeiling(): Promise<number> {
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./workflows/noop.ts', import.meta.url)),
    logger: new DefaultLogger('WARN'),
  });
  const native = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection });
  const taskQueue = `bench-ceiling-${randomUUID()}`;
  const worker = await Worker.create({ connection: native, taskQueue, workflowBundle, activities: { noop: () => Promise.resolve() } });
  let completed = 0;
  const deadline = Date.now() + ceilingSeconds * 1000;
  const started = Date.now();
  await worker.runUntil(async () => {
    // Enough workflows in flight that the server, not the starter, is the limit.
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (Date.now() < deadline) {
          await client.workflow.execute<typeof noopWorkflow>('noopWorkflow', { taskQueue, workflowId: `ceiling-${randomUUID()}` });
          completed++;
        }
      }),
    );
  });
  await connection.close();
  await native.close();
  return completed / ((Date.now() - started) / 1000);
}

async function measureRawSink(seconds: number): Promise<number> {
  // Orderly's own pooled transport, so this is the ceiling of the email step as Orderly runs it.
  const transport = createSmtpTransport({ ...config, SMTP_HOST: '127.0.0.1', SMTP_PORT: sinkPort });
  let sent = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (Date.now() < deadline) {
        await transport.sendMail({ from: 'bench@orderly.local', to: 'raw@example.test', subject: 'raw sink', text: 'x'.repeat(2000), html: `<p>${'x'.repeat(8000)}</p>` });
        sent++;
      }
    }),
  );
  transport.close();
  return sent / ((Date.now() - started) / 1000);
}

interface PhaseResult extends PhaseVerdict {
  name: string;
  rate: number | null;
  durationS: number;
  deliveredPerS: number;
  drainS: number;
  backlogSamples: { t: number; backlog: number }[];
  cpuPercent: Record<string, number>;
  failed: boolean;
}

async function runPhase(
  name: string,
  rate: number | null,
  seconds: number,
  pool: Pool,
  fixture: LoadFixture,
  sinkFile: string,
  pids: Record<string, number | undefined>,
): Promise<PhaseResult> {
  const afterId = await maxEventId(pool);
  const acceptedBefore = readAccepted(sinkFile).length;
  const meter = cpuMeter(pids);
  const started = Date.now();
  const backlogSamples: PhaseResult['backlogSamples'] = [];
  let inserted = 0;
  let nextSample = started;
  const sampleBacklog = (): void => {
    if (Date.now() < nextSample) return;
    nextSample += 5_000;
    backlogSamples.push({ t: Math.round((Date.now() - started) / 1000), backlog: inserted - (readAccepted(sinkFile).length - acceptedBefore) });
  };

  if (rate === null) {
    for (let done = 0; done < backlogEvents; done += 1000) await insertEvents(pool, fixture, Math.min(1000, backlogEvents - done));
    inserted = backlogEvents;
  } else {
    await insertAtRate(pool, fixture, rate, seconds, (count) => {
      inserted = count;
      sampleBacklog();
    });
  }
  const insertedEnd = Date.now();
  // Drain: wait for the sink to catch up (or give up after 5 minutes without progress).
  let lastCount = -1;
  let lastProgress = Date.now();
  for (;;) {
    const count = readAccepted(sinkFile).length - acceptedBefore;
    sampleBacklog();
    if (count >= inserted) break;
    if (count !== lastCount) {
      lastCount = count;
      lastProgress = Date.now();
    }
    if (Date.now() - lastProgress > 60_000) break;
    await sleep(250);
  }
  await sleep(2_000); // late duplicates still count
  const cpuPercent = meter.read();
  const events = await eventsSince(pool, afterId);
  const accepted = readAccepted(sinkFile).slice(acceptedBefore);
  const verdict = judge(events, accepted);
  const windowS = (verdict.lastAcceptedAt - started) / 1000;
  return {
    name,
    rate,
    durationS: rate === null ? 0 : seconds,
    ...verdict,
    deliveredPerS: Math.round((verdict.delivered / windowS) * 10) / 10,
    drainS: Math.round(((verdict.lastAcceptedAt - (rate === null ? started : insertedEnd)) / 1000) * 10) / 10,
    backlogSamples,
    cpuPercent,
    failed: verdict.lost > 0 || verdict.duplicates > 0 || verdict.orderViolations > 0,
  };
}

function mariadbVersion(pool: Pool): Promise<string> {
  return pool.query<RowDataPacket[]>('SELECT VERSION() AS v').then(([rows]) => String(rows[0]!.v));
}

async function main(): Promise<void> {
  console.log('bench: bringing up the local stack...');
  await stackUp();
  const pool = createPool(config);
  const runDir = join(repoRoot, '.stack', 'bench');
  mkdirSync(runDir, { recursive: true });
  const sinkFile = join(runDir, `accepted-${Date.now()}.ndjson`);

  console.log(`bench: ceiling (no-op workflow, ${ceilingSeconds} s)...`);
  const ceilingWps = await measureCeiling();
  console.log(`  ${ceilingWps.toFixed(1)} workflows/s`);

  const sink = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench', 'recording-sink.ts'), String(sinkPort), sinkFile], { stdio: 'inherit' });
  await sleep(1_500);
  console.log('bench: raw sink (nodemailer pool -> SMTP server, 10 s)...');
  const rawSinkMps = await measureRawSink(10);
  console.log(`  ${rawSinkMps.toFixed(1)} mails/s`);

  let processes: OrderlyProcess[] = [];
  const phases: PhaseResult[] = [];
  try {
    processes = await startPipeline({ SMTP_PORT: String(sinkPort) }, { logPrefix: 'bench-' });
    const pids = {
      temporal: ownPid('temporal'),
      mariadb: ownPid('mariadb'),
      kafka: ownPid('kafka'),
      connect: ownPid('debezium'),
      sink: sink.pid,
      ...Object.fromEntries(processes.map((p) => [p.name, p.child.pid])),
    };
    const fixture = await createLoadFixture(pool, orderCount);
    // Warm-up: JIT, pools and workflow caches, not measured.
    await runPhase('warm-up', 20, 15, pool, fixture, sinkFile, pids);
    for (const rate of rates) {
      console.log(`bench: sustained ${rate} events/s for ${durationS} s...`);
      const phase = await runPhase(`sustained-${rate}`, rate, durationS, pool, fixture, sinkFile, pids);
      phases.push(phase);
      console.log(`  delivered ${phase.deliveredPerS}/s, p50 ${phase.p50Ms} ms, p99 ${phase.p99Ms} ms, lost ${phase.lost}, dup ${phase.duplicates}, order ${phase.orderViolations}`);
    }
    if (backlogEvents > 0) {
      console.log(`bench: backlog of ${backlogEvents} events...`);
      const phase = await runPhase('backlog', null, 0, pool, fixture, sinkFile, pids);
      phases.push(phase);
      console.log(`  drained in ${phase.drainS} s (${phase.deliveredPerS}/s), lost ${phase.lost}, dup ${phase.duplicates}, order ${phase.orderViolations}`);
    }
  } finally {
    await stopAll(processes);
    sink.kill('SIGTERM');
  }

  const passing = phases.filter((p) => p.rate !== null && !p.failed);
  const bestSustained = Math.max(0, ...passing.map((p) => p.deliveredPerS));
  const backlog = phases.find((p) => p.rate === null);
  const result = {
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release() },
    versions: { node: process.version, temporalCli: versions.temporalCli, kafka: versions.kafka, debezium: versions.debezium, mariadb: await mariadbVersion(pool) },
    settings: { rates, durationS, backlogEvents, orders: orderCount, smtpPoolSize: config.SMTP_POOL_SIZE, emailConcurrency: config.EMAIL_MAX_CONCURRENT_ACTIVITIES },
    ceiling_wps: round(ceilingWps),
    raw_sink_mps: round(rawSinkMps),
    sustained: phases.filter((p) => p.rate !== null).map(toJson),
    backlog: backlog ? { ...toJson(backlog), backlog_drain_s: backlog.drainS } : null,
    best_sustained_per_s: bestSustained,
    ratio_to_ceiling: round(bestSustained / ceilingWps, 2),
    failed_phases: phases.filter((p) => p.failed).map((p) => p.name),
  };
  await pool.end();

  console.log('\nOrderly benchmark');
  console.log(`ceiling (no-op workflow): ${result.ceiling_wps} workflows/s   raw SMTP sink: ${result.raw_sink_mps} mails/s`);
  console.table(
    phases.map((p) => ({
      phase: p.name,
      'target/s': p.rate ?? `${backlogEvents} at once`,
      'delivered/s': p.deliveredPerS,
      'p50 ms': Math.round(p.p50Ms),
      'p95 ms': Math.round(p.p95Ms),
      'p99 ms': Math.round(p.p99Ms),
      'drain s': p.drainS,
      lost: p.lost,
      dup: p.duplicates,
      'order viol.': p.orderViolations,
      verdict: p.failed ? 'FAILED' : 'ok',
    })),
  );
  console.log(`best sustained: ${bestSustained} events/s; ratio to ceiling: ${result.ratio_to_ceiling}`);
  console.log('CPU % of one core per process:');
  console.table(Object.fromEntries(phases.map((p) => [p.name, p.cpuPercent])));

  const resultsDir = join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${result.when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`results: ${file} (logs in ${logDir})`);
  if (result.failed_phases.length > 0) process.exitCode = 1;
}

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function toJson(p: PhaseResult) {
  return {
    name: p.name,
    rate: p.rate,
    duration_s: p.durationS,
    expected: p.expected,
    delivered: p.delivered,
    delivered_per_s: p.deliveredPerS,
    p50_ms: round(p.p50Ms),
    p95_ms: round(p.p95Ms),
    p99_ms: round(p.p99Ms),
    max_ms: round(p.maxMs),
    lost: p.lost,
    duplicates: p.duplicates,
    order_violations: p.orderViolations,
    drain_s: p.drainS,
    backlog_over_time: p.backlogSamples,
    cpu_percent: p.cpuPercent,
    failed: p.failed,
  };
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
