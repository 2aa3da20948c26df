/**
 * `npm run bench`: Orderly's throughput and latency on this machine, every part running locally, in one run.
 *
 * 1. ceiling    a no-op one-activity workflow started as fast as the dev server takes them: workflows/s
 * 2. raw sink   nodemailer pooled sends straight to the SMTP server: mails/s
 * 3. rates      events inserted into MySQL at fixed offered rates, with bursts of 20 on a few orders among them:
 *               delivered/s, p50/p95/p99 from occurred_at to the SMTP server's acceptance (stamped by the server),
 *               backlog over time, CPU per process. "Sustained" is the highest offered rate the pipeline keeps up
 *               with: at least 98% of the phase's events delivered by its end and a backlog under 2 s of offered
 *               load then.
 * 4. overload   N events inserted at once: the rate at which the backlog drains (overload throughput, reported
 *               apart from sustained, and compared with the ceiling, itself a closed-loop overload figure)
 * 5. baseline   a plain kafkajs consumer doing the same lookups, renders and sends with no Temporal and no ledger
 *               (bench/baseline.ts), measured the same way (the same rates, the same backlog): what durability costs
 * 6. webhooks   the same load to 10 webhook endpoints on a local receiver (25 to 200/s), then one endpoint taking
 *               every event (100/s): delivered/s and latency to the receiver, and Temporal's cost per webhook event
 * 7. providers  SMS through the local Twilio and push through the local FCM (their documented APIs, on 127.0.0.1),
 *               50/s each, the providers' rate limits out of the way
 * Per event it also reports CPU ms per process and, from sampled histories, Temporal's cost (workflow tasks,
 * history events, billable actions) beside the ceiling workflow's.
 * Every phase of Orderly's is judged by the one verdict (bench/verdict.ts): a phase that breaks it fails the run.
 * Prints a table and writes bench/results/<timestamp>.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { Command } from 'commander';
import { Kafka, logLevel } from 'kafkajs';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { stackUp } from '../stack/lifecycle.js';
import { activeProfile, logDir, parseProfile, repoRoot, stackDirs } from '../stack/paths.js';
import { argumentsWithoutProfile, compareProfiles } from './profiles.js';
import { ownPid } from '../stack/process.js';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { workflowIds } from '../src/domain.js';
import { createSmtpTransport } from '../src/workers/email-worker.js';
import { type OrderlyProcess, startPipeline, stopAll } from '../scripts/orderly-processes.js';
import { copiesOfLoadEvents, ledgerEvidence, pushCopies, smsCopies, webhookCopies } from './evidence.js';
import { type ReceivedCopy, type Verdict, judge, totalDuplicates } from './verdict.js';
import { type HistoryJson, type WorkflowCost, costOf, meanCost } from './cost.js';
import { cpuMeter } from './cpu.js';
import { startFcmServer } from '../test/support/providers/fcm-server.js';
import { startTwilioServer } from '../test/support/providers/twilio-server.js';
import { startWebhookReceiver } from '../test/support/webhook-receiver.js';
import { type LoadFixture, createLoadFixture, eventsSince, insertAtRate, insertEvents, maxEventId } from './load.js';
import type { noopWorkflow } from './workflows/noop.js';
import { measuredOn, writeResult, writeResultTo } from './results-file.js';

const program = new Command('bench')
  .option('--rates <list>', 'sustained insert rates, events/s', '25,50,100,150')
  .option('--duration <seconds>', 'seconds per offered rate', '60')
  .option('--backlog <events>', 'events inserted at once in the backlog phase', '10000')
  .option('--ceiling-seconds <seconds>', 'seconds of the ceiling phase', '30')
  .option('--orders <n>', 'orders the events are spread over', '200')
  .option(
    '--webhook-rates <list>',
    'rates of the webhook phases, 10 endpoints, events/s (empty: none)',
    '25,50,100,200',
  )
  .option(
    '--single-endpoint-rate <n>',
    'rate of the phase with one endpoint taking every event, events/s (0: none)',
    '100',
  )
  .option('--webhook-duration <seconds>', 'seconds per webhook rate', '60')
  .option('--sms-rate <n>', 'rate of the SMS phase through the local Twilio, events/s (0: none)', '50')
  .option('--push-rate <n>', 'rate of the push phase through the local FCM, events/s (0: none)', '50')
  .option('--digest-rate <n>', 'rate of the webhook digest phase, events/s (0: none)', '50')
  .option('--digest-window <seconds>', "the digest phase's window", '5')
  .option('--sink-port <port>', 'port of the recording SMTP server', '2525')
  .option(
    '--profile <name>',
    "cluster: the same phases on the cluster profile, then the dev profile's figures of the same run beside them",
  )
  .option('--result-file <path>', 'write the result here instead of bench/results/<time>.json')
  .parse();
const options = program.opts<{
  rates: string;
  duration: string;
  backlog: string;
  ceilingSeconds: string;
  orders: string;
  sinkPort: string;
  webhookRates: string;
  singleEndpointRate: string;
  webhookDuration: string;
  smsRate: string;
  pushRate: string;
  digestRate: string;
  digestWindow: string;
  profile?: string;
  resultFile?: string;
}>();
const rates = options.rates.split(',').map(Number);
const durationS = Number(options.duration);
const backlogEvents = Number(options.backlog);
const ceilingSeconds = Number(options.ceilingSeconds);
const orderCount = Number(options.orders);
const webhookRates = options.webhookRates.split(',').filter(Boolean).map(Number);
const webhookSeconds = Number(options.webhookDuration);
const singleEndpointRate = Number(options.singleEndpointRate);
const smsRate = Number(options.smsRate);
const pushRate = Number(options.pushRate);
const digestRate = Number(options.digestRate);
const digestWindowS = Number(options.digestWindow);
const sinkPort = Number(options.sinkPort);

const config = loadConfig();
/** The pid of one of the measured profile's servers, for the CPU tables. */
const stackPid = (name: string) => ownPid(stackDirs(activeProfile), name);
Runtime.install({ logger: new DefaultLogger('WARN') });

/** Reads every copy the recording sink has accepted so far. */
function readCopies(file: string): ReceivedCopy[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => ({ channel: 'email', ...(JSON.parse(line) as Omit<ReceivedCopy, 'channel'>) }));
}

/** Mean cost of the executions named, from their histories. */
async function costOfWorkflows(client: Client, workflowIds: string[]): Promise<WorkflowCost> {
  const costs = [];
  for (const workflowId of workflowIds)
    costs.push(
      costOf(JSON.parse(historyToJSON(await client.workflow.getHandle(workflowId).fetchHistory())) as HistoryJson),
    );
  return meanCost(costs);
}

/** How many executions the per-event cost is averaged over. */
const costSample = 50;

async function measureCeiling(): Promise<{ wps: number; cost: WorkflowCost }> {
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./workflows/noop.ts', import.meta.url)),
    logger: new DefaultLogger('WARN'),
  });
  const native = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection });
  const taskQueue = `bench-ceiling-${randomUUID()}`;
  const worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowBundle,
    activities: { noop: () => Promise.resolve() },
  });
  let completed = 0;
  const finished: string[] = [];
  const deadline = Date.now() + ceilingSeconds * 1000;
  const started = Date.now();
  await worker.runUntil(async () => {
    // Enough workflows in flight that the server, not the starter, is the limit.
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (Date.now() < deadline) {
          const workflowId = `ceiling-${randomUUID()}`;
          await client.workflow.execute<typeof noopWorkflow>('noopWorkflow', { taskQueue, workflowId });
          completed++;
          if (finished.length < costSample) finished.push(workflowId);
        }
      }),
    );
  });
  const wps = completed / ((Date.now() - started) / 1000);
  const cost = await costOfWorkflows(client, finished);
  await connection.close();
  await native.close();
  return { wps, cost };
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
        await transport.sendMail({
          from: 'bench@orderly.local',
          to: 'raw@example.test',
          subject: 'raw sink',
          text: 'x'.repeat(2000),
          html: `<p>${'x'.repeat(8000)}</p>`,
        });
        sent++;
      }
    }),
  );
  transport.close();
  return sent / ((Date.now() - started) / 1000);
}

interface PhaseResult extends Verdict {
  name: string;
  rate: number | null;
  durationS: number;
  deliveredPerS: number;
  /** Distinct events received by the end of the load, against the rows written: kept up when at least 98%. */
  deliveredByLoadEnd: number;
  /** Events not yet received when the load ended: kept up when under 2 s of offered load. */
  backlogAtLoadEnd: number;
  keptUp: boolean;
  drainS: number;
  backlogSamples: { t: number; backlog: number }[];
  cpuPercent: Record<string, number>;
  /** CPU milliseconds each process spent per delivered event. */
  cpuMsPerEvent: Record<string, number>;
  /** A sample of the phase's events, for the per-event cost. */
  eventIds: string[];
  failed: boolean;
}

/** Distinct events among copies. */
const distinctEvents = (copies: ReceivedCopy[]): number => new Set(copies.map((c) => c.eventId)).size;

async function runPhase(
  name: string,
  rate: number | null,
  seconds: number,
  pool: Pool,
  fixture: LoadFixture,
  copiesSoFar: () => ReceivedCopy[],
  pids: Record<string, number | undefined>,
  { keepsLedger = true } = {},
): Promise<PhaseResult> {
  const afterId = await maxEventId(pool);
  const copiesBefore = copiesSoFar().length;
  const copiesOfPhase = () => copiesSoFar().slice(copiesBefore);
  const meter = cpuMeter(pids);
  const started = Date.now();
  const backlogSamples: PhaseResult['backlogSamples'] = [];
  let inserted = 0;
  let nextSample = started;
  const sampleBacklog = (): void => {
    if (Date.now() < nextSample) return;
    nextSample += 5_000;
    backlogSamples.push({
      t: Math.round((Date.now() - started) / 1000),
      backlog: inserted - distinctEvents(copiesOfPhase()),
    });
  };

  if (rate === null) {
    for (let done = 0; done < backlogEvents; done += 1000)
      await insertEvents(pool, fixture, Math.min(1000, backlogEvents - done));
    inserted = backlogEvents;
  } else {
    inserted = await insertAtRate(pool, fixture, rate, seconds, {
      onTick: (count) => {
        inserted = count;
        sampleBacklog();
      },
    });
  }
  const insertedEnd = Date.now();
  const deliveredByLoadEnd = distinctEvents(copiesOfPhase());
  // Drain: wait until every event written has arrived at least once (or 60 s pass without progress).
  let lastCount = -1;
  let lastProgress = Date.now();
  for (;;) {
    const count = distinctEvents(copiesOfPhase());
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
  const meteredS = (Date.now() - started) / 1000;
  const events = await eventsSince(pool, afterId);
  const copies = await copiesOfLoadEvents(pool, copiesOfPhase());
  const { ledger, deadLettered } = keepsLedger
    ? await ledgerEvidence(
        pool,
        events.map((e) => e.eventId),
      )
    : { ledger: [], deadLettered: new Set<string>() };
  // The plain consumer keeps no ledger: it is judged on what arrived, not on rows it never writes.
  const verdict = judge({
    written: inserted,
    events,
    copies,
    ledger: keepsLedger
      ? ledger
      : copies.map((c) => ({ eventId: c.eventId ?? '', channel: c.channel, state: 'delivered' })),
    deadLettered,
  });
  const windowS = (verdict.lastAcceptedAt - started) / 1000;
  const backlogAtLoadEnd = inserted - deliveredByLoadEnd;
  return {
    name,
    rate,
    durationS: rate === null ? 0 : seconds,
    ...verdict,
    deliveredPerS: round(verdict.delivered / windowS),
    deliveredByLoadEnd,
    backlogAtLoadEnd,
    keptUp: rate !== null && deliveredByLoadEnd >= 0.98 * inserted && backlogAtLoadEnd < 2 * rate,
    drainS: round((verdict.lastAcceptedAt - (rate === null ? started : insertedEnd)) / 1000),
    backlogSamples,
    cpuPercent,
    cpuMsPerEvent: Object.fromEntries(
      Object.entries(cpuPercent).map(([name, percent]) => [
        name,
        round((percent * 10 * meteredS) / Math.max(1, verdict.delivered), 2),
      ]),
    ),
    eventIds: events
      .filter((_, i) => i % Math.max(1, Math.floor(events.length / costSample)) === 0)
      .slice(0, costSample)
      .map((e) => e.eventId),
    failed: !verdict.passed,
  };
}

/** The highest offered rate among phases that kept up and passed the verdict, with its figures; null when none did. */
function sustainedOf(phases: PhaseResult[]) {
  const best = phases.filter((p) => p.keptUp && p.passed).sort((a, b) => b.rate! - a.rate!)[0];
  return best === undefined
    ? null
    : {
        offered_per_s: best.rate!,
        delivered_per_s: best.deliveredPerS,
        p50_ms: round(best.p50Ms),
        p99_ms: round(best.p99Ms),
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
  const ceiling = await measureCeiling();
  const ceilingWps = ceiling.wps;
  console.log(`  ${ceilingWps.toFixed(1)} workflows/s`);

  const mails = () => readCopies(sinkFile);
  const sink = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'bench', 'recording-sink.ts'), String(sinkPort), sinkFile],
    { stdio: 'inherit' },
  );
  await sleep(1_500);
  console.log('bench: raw sink (nodemailer pool -> SMTP server, 10 s)...');
  const rawSinkMps = await measureRawSink(10);
  console.log(`  ${rawSinkMps.toFixed(1)} mails/s`);

  let processes: OrderlyProcess[] = [];
  const phases: PhaseResult[] = [];
  const webhookPhases: PhaseResult[] = [];
  let webhookCost: Awaited<ReturnType<typeof measureWebhooks>>['cost'] = null;
  const digestPhases: PhaseResult[] = [];
  let digestCost: Awaited<ReturnType<typeof measureDigests>>['cost'] = null;
  const providerPhases: PhaseResult[] = [];
  const providers = await startProviders();
  try {
    processes = await startPipeline({ SMTP_PORT: String(sinkPort), ...providers.env }, { logPrefix: 'bench-' });
    const pids = {
      temporal: stackPid('temporal'),
      mariadb: stackPid('mariadb'),
      kafka: stackPid('kafka'),
      connect: stackPid('debezium'),
      sink: sink.pid,
      ...Object.fromEntries(processes.map((p) => [p.name, p.child.pid])),
    };
    const fixture = await createLoadFixture(pool, orderCount);
    // Warm-up: JIT, pools and workflow caches, not measured.
    await runPhase('warm-up', 20, 15, pool, fixture, mails, pids);
    phases.push(...(await runLadder('', pool, fixture, mails, pids)));
    const webhooks = await measureWebhooks(pool, pids);
    webhookPhases.push(...webhooks.phases);
    webhookCost = webhooks.cost;
    providerPhases.push(...(await measureProviders(pool, pids, providers)));
    const digests = await measureDigests(pool, pids);
    digestPhases.push(...digests.phases);
    digestCost = digests.cost;
  } finally {
    await stopAll(processes);
    await providers.close();
  }
  const baselinePhases: PhaseResult[] = [];
  const baseline = await startBaseline();
  try {
    const pids = {
      baseline: baseline.pid,
      mariadb: stackPid('mariadb'),
      kafka: stackPid('kafka'),
      connect: stackPid('debezium'),
      sink: sink.pid,
    };
    const fixture = await createLoadFixture(pool, orderCount);
    baselinePhases.push(...(await runLadder('baseline-', pool, fixture, mails, pids, { keepsLedger: false })));
  } finally {
    baseline.kill('SIGTERM');
    sink.kill('SIGTERM');
    await skipBaselineEventsForOrderly();
  }
  phases.push(...baselinePhases);

  const orderly = phases.filter((p) => !baselinePhases.includes(p));
  // Sampled from every phase: an event that waited for the one before it costs more than one that did not.
  const perEvent = await costOfEvents(orderly.flatMap((p) => p.eventIds));
  const sustained = sustainedOf(orderly);
  const baselineSustained = sustainedOf(baselinePhases);
  const overload = orderly.find((p) => p.rate === null);
  const baselineOverload = baselinePhases.find((p) => p.rate === null);
  const result = {
    when: new Date().toISOString(),
    profile: activeProfile,
    commit: measuredOn().commit,
    machine: measuredOn().machine,
    versions: {
      ...measuredOn().versions,
      mariadb: await mariadbVersion(pool),
    },
    settings: {
      rates,
      durationS,
      backlogEvents,
      orders: orderCount,
      smtpPoolSize: config.SMTP_POOL_SIZE,
      emailConcurrency: config.EMAIL_MAX_CONCURRENT_ACTIVITIES,
    },
    ceiling_wps: round(ceilingWps),
    raw_sink_mps: round(rawSinkMps),
    phases: orderly.filter((p) => p.rate !== null).map(toJson),
    // The highest offered rate kept up with (98% delivered by the phase's end, backlog then under 2 s of load).
    sustained,
    // Throughput past saturation: the rate at which a backlog drains. Compared with the ceiling, also closed-loop.
    overload: overload ? { ...toJson(overload), drain_s: overload.drainS } : null,
    overload_ratio_to_ceiling: overload ? round(overload.deliveredPerS / ceilingWps, 2) : null,
    failed_phases: [...orderly, ...webhookPhases, ...providerPhases, ...digestPhases]
      .filter((p) => p.failed)
      .map((p) => ({ name: p.name, why: p.failures })),
    webhook: webhookPhases.map(toJson),
    // Webhook delivered/s at its highest rate over email's overload (both past saturation or not: read the phases).
    webhook_saturation_ratio_to_email:
      overload && webhookPhases.length > 0
        ? round(Math.max(...webhookPhases.map((p) => p.deliveredPerS)) / overload.deliveredPerS, 2)
        : null,
    // SMS and push through the local Twilio and FCM (their rate limits out of the way): the provider task queues.
    providers: providerPhases.map(toJson),
    // Webhook digests: every listed event judged in its place; what a digested event costs Temporal.
    digest: digestPhases.map(toJson),
    per_digested_event: digestCost && {
      notification: digestCost.notification,
      digest_workflows: digestCost.digestShare,
    },
    per_webhook_event: webhookCost && {
      notification: webhookCost.notification,
      endpoint_workflows: webhookCost.endpointShare,
    },
    per_event: {
      workflow_tasks: perEvent.workflowTasks,
      history_events: perEvent.historyEvents,
      actions: perEvent.actions,
      ceiling: ceiling.cost,
    },
    // The plain consumer promises nothing: its losses and duplicates are a finding, not a failed run.
    baseline: {
      sustained: baselineSustained,
      overload_per_s: baselineOverload?.deliveredPerS ?? null,
      phases: baselinePhases.map(toJson),
      orderly_sustained_ratio:
        sustained && baselineSustained ? round(sustained.offered_per_s / baselineSustained.offered_per_s, 2) : null,
      orderly_overload_ratio:
        overload && baselineOverload ? round(overload.deliveredPerS / baselineOverload.deliveredPerS, 2) : null,
    },
  };
  await pool.end();

  console.log('\nOrderly benchmark');
  console.log(
    `ceiling (no-op workflow): ${result.ceiling_wps} workflows/s   raw SMTP sink: ${result.raw_sink_mps} mails/s`,
  );
  const table = (rows: PhaseResult[]) =>
    console.table(
      rows.map((p) => ({
        phase: p.name,
        'offered/s': p.rate ?? `${backlogEvents} at once`,
        'delivered/s': p.deliveredPerS,
        'backlog at end': p.rate === null ? '' : p.backlogAtLoadEnd,
        'kept up': p.rate === null ? '' : p.keptUp ? 'yes' : 'no',
        'p50 ms': Math.round(p.p50Ms),
        'p95 ms': Math.round(p.p95Ms),
        'p99 ms': Math.round(p.p99Ms),
        lost: p.lost,
        dup: totalDuplicates(p),
        'order viol.': p.orderViolations,
        verdict: p.failed ? 'FAILED' : 'ok',
      })),
    );
  table([...orderly, ...webhookPhases, ...providerPhases]);
  const describe = (figures: typeof sustained) =>
    figures === null
      ? 'none of the offered rates'
      : `${figures.offered_per_s}/s offered (${figures.delivered_per_s}/s delivered, p50 ${figures.p50_ms} ms, p99 ${figures.p99_ms} ms)`;
  console.log(`sustained: ${describe(sustained)}`);
  console.log(
    `overload: ${overload?.deliveredPerS ?? '-'}/s draining ${backlogEvents} events; over the ceiling: ${result.overload_ratio_to_ceiling}`,
  );
  console.log('plain consumer (no Temporal, no ledger), measured the same way:');
  table(baselinePhases);
  console.log(
    `plain consumer sustained: ${describe(baselineSustained)}; overload ${result.baseline.overload_per_s}/s; Orderly over it: sustained ${result.baseline.orderly_sustained_ratio}, overload ${result.baseline.orderly_overload_ratio}`,
  );
  console.log('CPU % of one core per process:');
  console.table(Object.fromEntries(phases.map((p) => [p.name, p.cpuPercent])));
  console.log('CPU ms per delivered event, per process:');
  console.table(Object.fromEntries(phases.map((p) => [p.name, p.cpuMsPerEvent])));
  console.log('Temporal cost per event (mean of sampled histories):');
  console.table({
    notification: perEvent,
    'ceiling workflow': ceiling.cost,
    ...(webhookCost && {
      'webhook notification': webhookCost.notification,
      'webhook: endpoint workflows, per event': webhookCost.endpointShare,
    }),
    ...(digestCost && {
      'digested notification': digestCost.notification,
      'digest workflows, per event': digestCost.digestShare,
    }),
  });

  const file = options.resultFile === undefined ? writeResult('', result) : writeResultTo(options.resultFile, result);
  console.log(`results: ${file} (logs in ${logDir})`);
  if (result.failed_phases.length > 0) process.exitCode = 1;
}

/** The mean Temporal cost of one event's notification, from the histories of a sample of the run's events. */
async function costOfEvents(eventIds: string[]): Promise<WorkflowCost> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    return await costOfWorkflows(
      new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }),
      eventIds.map((id) => workflowIds.notification(id)),
    );
  } finally {
    await connection.close();
  }
}

/** One phase in one line. */
const summary = (p: PhaseResult): string =>
  `delivered ${p.deliveredPerS}/s, p50 ${round(p.p50Ms)} ms, p95 ${round(p.p95Ms)} ms, p99 ${round(p.p99Ms)} ms, backlog at the load's end ${p.backlogAtLoadEnd}${p.rate === null ? '' : p.keptUp ? ' (kept up)' : ' (did not keep up)'}, lost ${p.lost}, dup ${totalDuplicates(p)}, order ${p.orderViolations}: ${p.passed ? 'ok' : p.failures.join('; ')}`;

/** Every offered rate, then the backlog: how the bench measures Orderly and the plain consumer alike. */
async function runLadder(
  prefix: string,
  pool: Pool,
  fixture: LoadFixture,
  copies: () => ReceivedCopy[],
  pids: Record<string, number | undefined>,
  options: { keepsLedger?: boolean } = {},
): Promise<PhaseResult[]> {
  const results: PhaseResult[] = [];
  for (const rate of rates) {
    console.log(`bench: ${prefix}${rate} events/s offered for ${durationS} s...`);
    results.push(await runPhase(`${prefix}${rate}`, rate, durationS, pool, fixture, copies, pids, options));
    console.log(`  ${summary(results.at(-1)!)}`);
  }
  if (backlogEvents > 0) {
    console.log(`bench: ${prefix}backlog of ${backlogEvents} events...`);
    results.push(await runPhase(`${prefix}backlog`, null, 0, pool, fixture, copies, pids, options));
    console.log(`  drained in ${results.at(-1)!.drainS} s: ${summary(results.at(-1)!)}`);
  }
  return results;
}

/**
 * The local Twilio and FCM servers (the providers' documented APIs, on 127.0.0.1), and the settings that point the
 * pipeline at them, with their rate limits well above the phases' rates: what is measured is Orderly's provider path.
 */
async function startProviders() {
  const [twilio, fcm] = await Promise.all([startTwilioServer(), startFcmServer()]);
  return {
    twilio,
    fcm,
    env: {
      SMS_PROVIDERS: 'twilio',
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: '+15005550006',
      TWILIO_BASE_URL: twilio.url,
      PUSH_PROVIDERS: 'fcm',
      FCM_SERVICE_ACCOUNT_JSON: JSON.stringify(fcm.serviceAccount),
      FCM_BASE_URL: fcm.url,
      PROVIDER_RATE_LIMITS: 'twilio=1000,fcm=1000',
    },
    close: () => Promise.all([twilio.close(), fcm.close()]),
  };
}

/** SMS, then push: the same load, each customer's user subscribed on that channel (a phone, an FCM device). */
async function measureProviders(
  pool: Pool,
  pids: Record<string, number | undefined>,
  { twilio, fcm }: Awaited<ReturnType<typeof startProviders>>,
): Promise<PhaseResult[]> {
  const phases: PhaseResult[] = [];
  const channels = [
    { channel: 'sms' as const, rate: smsRate, copies: () => smsCopies(twilio.received) },
    { channel: 'push' as const, rate: pushRate, copies: () => pushCopies(fcm.received) },
  ];
  for (const { channel, rate, copies } of channels.filter((c) => c.rate > 0)) {
    const fixture = await createLoadFixture(pool, orderCount, { channel });
    console.log(`bench: ${channel} at ${rate} events/s for ${webhookSeconds} s...`);
    phases.push(await runPhase(`${channel}-${rate}`, rate, webhookSeconds, pool, fixture, copies, pids));
    console.log(`  ${summary(phases.at(-1)!)}`);
  }
  return phases;
}

/**
 * Webhooks: the same load, each customer's user subscribed through a webhook endpoint on a local receiver, measured
 * from occurred_at to the endpoint receiving the POST; then one endpoint taking every event (its rate limit and
 * in-flight cap out of the way). Also what a webhook event costs Temporal: its notification's history, and its
 * share of its endpoint workflow's histories (every run, over the events the endpoint took).
 */
async function measureWebhooks(
  pool: Pool,
  pids: Record<string, number | undefined>,
): Promise<{ phases: PhaseResult[]; cost: { notification: WorkflowCost; endpointShare: WorkflowCost } | null }> {
  const receiver = await startWebhookReceiver();
  const received = () => webhookCopies(receiver.received);
  const phases: PhaseResult[] = [];
  const endpointIds: string[] = [];
  try {
    if (webhookRates.length > 0) {
      const fixture = await createLoadFixture(pool, orderCount, { webhookUrl: receiver.url });
      endpointIds.push(...fixture.endpointIds);
      for (const rate of webhookRates) {
        console.log(`bench: webhooks to 10 endpoints at ${rate} events/s for ${webhookSeconds} s...`);
        phases.push(await runPhase(`webhook-${rate}`, rate, webhookSeconds, pool, fixture, received, pids));
        console.log(`  ${summary(phases.at(-1)!)}`);
      }
    }
    if (singleEndpointRate > 0) {
      const endpointPolicy = { ratePerSecond: 10_000, maxInFlight: 100 };
      const fixture = await createLoadFixture(pool, orderCount, {
        customers: 1,
        webhookUrl: receiver.url,
        endpointPolicy,
      });
      endpointIds.push(...fixture.endpointIds);
      console.log(`bench: webhooks to one endpoint at ${singleEndpointRate} events/s for ${webhookSeconds} s...`);
      const name = `webhook-one-endpoint-${singleEndpointRate}`;
      phases.push(await runPhase(name, singleEndpointRate, webhookSeconds, pool, fixture, received, pids));
      console.log(`  ${summary(phases.at(-1)!)}`);
    }
  } finally {
    await receiver.close();
  }
  if (phases.length === 0) return { phases, cost: null };
  const delivered = phases.reduce((sum, p) => sum + p.delivered, 0);
  return {
    phases,
    cost: {
      notification: await costOfEvents(phases.flatMap((p) => p.eventIds)),
      endpointShare: await sharedCostPerEvent(endpointIds.map(workflowIds.webhookEndpoint), delivered),
    },
  };
}

/**
 * Digests: each customer's user takes the events in webhook digests (windows of `digestWindowS`), each listed event
 * judged as a copy in its place in the list. What a digested event costs Temporal: its notification, and its share of
 * the digests' workflows.
 */
async function measureDigests(
  pool: Pool,
  pids: Record<string, number | undefined>,
): Promise<{ phases: PhaseResult[]; cost: { notification: WorkflowCost; digestShare: WorkflowCost } | null }> {
  if (digestRate <= 0) return { phases: [], cost: null };
  const receiver = await startWebhookReceiver();
  try {
    const digest = { windowS: digestWindowS };
    const fixture = await createLoadFixture(pool, orderCount, { webhookUrl: receiver.url, digest });
    console.log(
      `bench: webhook digests (${digestWindowS} s windows) at ${digestRate} events/s for ${webhookSeconds} s...`,
    );
    const received = () => webhookCopies(receiver.received);
    const phase = await runPhase(`digest-${digestRate}`, digestRate, webhookSeconds, pool, fixture, received, pids);
    console.log(`  ${summary(phase)}`);
    const [digests] = await pool.query<RowDataPacket[]>('SELECT id FROM digests WHERE endpoint_id IN (?)', [
      fixture.endpointIds,
    ]);
    return {
      phases: [phase],
      cost: {
        notification: await costOfEvents(phase.eventIds),
        digestShare: await sharedCostPerEvent(
          digests.map((d) => workflowIds.digest(String(d.id))),
          phase.delivered,
        ),
      },
    };
  } finally {
    await receiver.close();
  }
}

/** Every run of workflows shared by many events (endpoints', digests'), summed, over the events they took. */
async function sharedCostPerEvent(sharedWorkflowIds: string[], events: number): Promise<WorkflowCost> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const total = { workflowTasks: 0, historyEvents: 0, actions: 0 };
    for (const workflowId of sharedWorkflowIds) {
      for await (const run of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
        const history = await client.workflow.getHandle(workflowId, run.runId).fetchHistory();
        const cost = costOf(JSON.parse(historyToJSON(history)) as HistoryJson);
        total.workflowTasks += cost.workflowTasks;
        total.historyEvents += cost.historyEvents;
        total.actions += cost.actions;
      }
    }
    const perEvent = (n: number) => round(n / Math.max(1, events), 2);
    return {
      workflowTasks: perEvent(total.workflowTasks),
      historyEvents: perEvent(total.historyEvents),
      actions: perEvent(total.actions),
    };
  } finally {
    await connection.close();
  }
}

/**
 * The plain consumer's events are not Orderly's to notify: moves the ingest's consumer group (stopped by now)
 * to the end of the topic, so the next run of Orderly does not start with them.
 */
async function skipBaselineEventsForOrderly(): Promise<void> {
  const admin = new Kafka({ clientId: 'bench', brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    // Explicit offsets: resetOffsets() commits -1, which a consumer reads as "no offset" and so, for the
    // ingest (fromBeginning), as the start of the topic.
    const ends = await admin.fetchTopicOffsets(config.KAFKA_EVENTS_TOPIC);
    await admin.setOffsets({
      groupId: config.KAFKA_GROUP_ID,
      topic: config.KAFKA_EVENTS_TOPIC,
      partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
    });
  } finally {
    await admin.disconnect();
  }
}

/** Starts the plain-consumer baseline against the recording sink and waits until it has joined its group. */
async function startBaseline(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench', 'baseline.ts')], {
    env: { ...process.env, SMTP_PORT: String(sinkPort) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => line === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`the baseline consumer exited (${code}) before it was ready`)));
  });
  // Its first fetch fixes where "the end of the topic" is: let that happen before the load starts.
  await sleep(3_000);
  return child;
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
    written: p.written,
    expected: p.expected,
    delivered: p.delivered,
    delivered_per_s: p.deliveredPerS,
    delivered_by_load_end: p.deliveredByLoadEnd,
    backlog_at_load_end: p.backlogAtLoadEnd,
    kept_up: p.keptUp,
    p50_ms: round(p.p50Ms),
    p95_ms: round(p.p95Ms),
    p99_ms: round(p.p99Ms),
    max_ms: round(p.maxMs),
    lost: p.lost,
    dead_lettered: p.deadLettered,
    duplicates: p.duplicates,
    order_violations: p.orderViolations,
    ledger: p.ledger,
    drain_s: p.drainS,
    backlog_over_time: p.backlogSamples,
    cpu_percent: p.cpuPercent,
    cpu_ms_per_event: p.cpuMsPerEvent,
    failures: p.failures,
    failed: p.failed,
  };
}

const run =
  options.profile === undefined || options.profile === activeProfile
    ? main()
    : compareProfiles(parseProfile(options.profile), argumentsWithoutProfile());
run.catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
