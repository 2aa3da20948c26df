/**
 * `npm run test:faults`: a steady load through the real path while one fault at a time is injected, then
 * the system must recover by itself. Each scenario is judged against the rows in MySQL: lost and order
 * violations must be 0; duplicates must be 0 except where a sender was killed between the SMTP server's (or
 * the webhook endpoint's) acceptance and the activity's completion (counted and reported, never hidden). An SMS
 * counts as delivered when the provider accepted it, and the ledger must then say `sent`.
 *
 *   npm run test:faults [-- --only "restart Kafka" --rate 15 --seconds 60]
 *
 * `--profile cluster` runs the cluster profile's scenarios on that stack instead (`npm run test:cluster` does).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { type AcceptedMail, judge, recoveredAfterS } from '../../bench/analysis.js';
import { createLoadFixture, eventsSince, insertAtRate, insertEvents, maxEventId } from '../../bench/load.js';
import {
  type OrderlyProcess,
  type OrderlyProcessName,
  startOrderly,
  stopAll,
} from '../../scripts/orderly-processes.js';
import { type ComponentName, restart, stackOf, stackStatus, stackUp, stop } from '../../stack/lifecycle.js';
import { orderlyEnv } from '../../stack/local-settings.js';
import { type ProfileName, activeProfile, parseProfile, profileNames, repoRoot } from '../../stack/paths.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { type FaultySmtp, startFaultySmtp } from '../support/faulty-smtp.js';
import { type TwilioServer, startTwilioServer } from '../support/providers/twilio-server.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';
import { busiestPartitionLeader, connectTaskWorker, taskMovedFrom } from './cluster.js';

const options = new Command('test:faults')
  .option('--rate <events/s>', 'steady load while the fault is injected', '15')
  .option('--seconds <s>', 'seconds of load per scenario', '60')
  .option('--fault-at <s>', 'seconds into the load when the fault is injected', '20')
  .option('--only <names>', 'comma-separated scenario names to run')
  .option('--smtp-port <port>', 'port of the fault-injecting SMTP server', '2526')
  .option('--results <file>', 'where the JSON results go', join(repoRoot, 'bench', 'results', 'faults-latest.json'))
  .addOption(
    new Option('--profile <name>', 'the stack profile, and so its scenarios')
      .choices(profileNames)
      .default(activeProfile),
  )
  .parse()
  .opts<{
    rate: string;
    seconds: string;
    faultAt: string;
    only?: string;
    smtpPort: string;
    results: string;
    profile: string;
  }>();

const stack = stackOf(parseProfile(options.profile));

const rate = Number(options.rate);
const seconds = Number(options.seconds);
const faultAt = Number(options.faultAt);
const recoveryLimitMs = 6 * 60_000;

/** The local receivers of the load's messages, one per channel. */
interface Receivers {
  smtp: FaultySmtp;
  endpoint: WebhookReceiver;
  /** The only SMS provider (`SMS_PROVIDERS=twilio`): an outage is waited out, there is nothing to fail over to. */
  twilio: TwilioServer;
}

type Channel = 'email' | 'webhook' | 'sms';

interface Context extends Receivers {
  /** Kills an Orderly process with SIGKILL and starts it again, unless `comeBack` is false (then after the scenario). */
  crash(name: OrderlyProcessName, options?: { comeBack?: boolean }): Promise<void>;
  restart(name: ComponentName, options?: { kill?: boolean }): Promise<void>;
  /** Stops a component of the stack, with SIGKILL when `kill`; `restart` brings it back. */
  stop(name: ComponentName, options?: { kill?: boolean }): Promise<void>;
}

interface Scenario {
  name: string;
  /** How the load's users are notified: email (the fault-injecting SMTP server), a webhook endpoint or SMS (Twilio). */
  channel?: Channel;
  /** A sender killed mid-send can have delivered a message it never reported: those duplicates are expected. */
  duplicatesPossible?: boolean;
  /** Instead of the steady load: this many events for this many orders, inserted at once. */
  burst?: { orders: number; events: number };
  /** Run only when named with --only (too long for every run). */
  onRequest?: boolean;
  recoveryLimitMs?: number;
  /** The stack profiles it runs on: the dev one unless said otherwise. */
  profiles?: ProfileName[];
  /** Injects the fault, and returns anything worth noting about it (what it hit, how long a hand-over took). */
  inject(context: Context): Promise<string | void>;
}

const scenarios: Scenario[] = [
  { name: 'kill -9 email worker', duplicatesPossible: true, inject: (c) => c.crash('email-worker') },
  // The workflow worker makes each email's first attempt (a local activity), so it is a sender too.
  { name: 'kill -9 workflow worker', duplicatesPossible: true, inject: (c) => c.crash('workflow-worker') },
  { name: 'kill -9 ingest mid-batch', inject: (c) => c.crash('ingest') },
  { name: 'restart Kafka Connect', inject: (c) => c.restart('debezium') },
  // The dev profile's Temporal is the CLI's dev server; the cluster profile's, the Temporal server on PostgreSQL.
  { name: 'restart Temporal server', profiles: ['dev', 'cluster'], inject: (c) => c.restart('temporal') },
  { name: 'restart Kafka', inject: (c) => c.restart('kafka') },
  { name: 'restart MariaDB', inject: (c) => c.restart('mariadb') },
  {
    name: 'SMTP server down 30 s',
    async inject({ smtp }) {
      await smtp.down();
      await sleep(30_000);
      await smtp.up();
    },
  },
  {
    name: 'SMTP answers 451 for 20 s',
    async inject({ smtp }) {
      smtp.deferUntil = Date.now() + 20_000;
      await sleep(20_000);
    },
  },
  {
    // Bad input at scale: 5,000 notifications chained behind one another, each waiting for the one before it.
    name: 'one order with 5000 events',
    burst: { orders: 1, events: 5_000 },
    onRequest: true,
    recoveryLimitMs: 45 * 60_000,
    inject: () => Promise.resolve(),
  },
  {
    // Requests time out on the webhook worker (response timeout), the circuit opens, probes fail, then succeed.
    name: 'webhook endpoint times out for 30 s',
    channel: 'webhook',
    async inject({ endpoint }) {
      endpoint.reply = () => 'hang';
      await sleep(30_000);
      endpoint.reply = () => ({ status: 204 });
    },
  },
  {
    name: 'kill -9 webhook worker',
    channel: 'webhook',
    // A call the endpoint answered 2xx just before the crash is made again: the receiver sees its webhook-id twice.
    duplicatesPossible: true,
    inject: (c) => c.crash('webhook-worker'),
  },
  {
    // Connections refused: each SMS spends its attempts, waits a round (10 s, 20 s...) and goes again, the
    // order's next SMS waiting behind it.
    name: 'SMS provider down for 30 s',
    channel: 'sms',
    async inject({ twilio }) {
      await twilio.down();
      await sleep(30_000);
      await twilio.up();
    },
  },
  {
    // The cluster profile: a partition's leadership moves to an in-sync replica; producers (Debezium, acks=all)
    // and the ingest's consumer follow it. The broker comes back at once and catches up.
    name: 'kill -9 Kafka broker leading the busiest partition',
    profiles: ['cluster'],
    async inject(c) {
      const leader = await busiestPartitionLeader(stack.settings);
      await c.restart(leader.component, { kill: true });
      return `${leader.component} led partition ${leader.partition} (${leader.messages} messages)`;
    },
  },
  {
    // The other worker of the group takes the task over (after scheduled.rebalance.max.delay.ms); the dead worker
    // comes back only once it has.
    name: 'kill -9 Connect worker running the connector task',
    profiles: ['cluster'],
    async inject(c) {
      const { component } = await connectTaskWorker(stack.settings);
      await c.stop(component, { kill: true });
      const movedAfterS = await taskMovedFrom(stack.settings, component);
      await c.restart(component);
      return `the task left ${component} ${movedAfterS} s after its kill`;
    },
  },
  { name: 'restart PostgreSQL', profiles: ['cluster'], inject: (c) => c.restart('postgresql') },
  {
    // Two workflow workers poll the same queues: the survivor takes the dead one's workflows over (their sticky
    // queue times out, then their tasks go to the shared queue); the dead one is started again after the scenario.
    name: 'kill -9 one of two workflow workers',
    profiles: ['cluster'],
    duplicatesPossible: true,
    inject: (c) => c.crash('workflow-worker', { comeBack: false }),
  },
];

interface ScenarioResult {
  scenario: string;
  expected: number;
  delivered: number;
  deadLettered: number;
  /** Events whose delivery the ledger records as done (`delivered`, or `sent` for an SMS the provider accepted). */
  recorded: number;
  lost: number;
  duplicates: number;
  orderViolations: number;
  /** Seconds from the end of the fault to the last delivery (the load goes on after the fault). */
  lastDeliveryAfterFaultS: number;
  /** Seconds from the end of the load to the last delivery: how long the backlog the fault left took to drain. */
  drainAfterLoadS: number;
  /** Time to recover: seconds from the fault's start to the last delivery it held up (more than 5 s after its row). */
  recoveredAfterS: number;
  passed: boolean;
  note: string;
}

async function deadLetteredAmong(pool: Pool, eventIds: string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT DISTINCT event_id FROM deliveries WHERE state = 'dead_lettered' AND event_id IN (?)",
    [eventIds],
  );
  return new Set(rows.map((r) => String(r.event_id)));
}

/** The events among these with a delivery done in the ledger: `delivered`, or an SMS `sent` (accepted, no receipt yet). */
async function recordedAmong(pool: Pool, eventIds: string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT DISTINCT event_id FROM deliveries WHERE state IN ('delivered', 'sent') AND event_id IN (?)",
    [eventIds],
  );
  return new Set(rows.map((r) => String(r.event_id)));
}

async function insertBurst(
  pool: Pool,
  fixture: Awaited<ReturnType<typeof createLoadFixture>>,
  events: number,
): Promise<number> {
  for (let done = 0; done < events; done += 1_000) await insertEvents(pool, fixture, Math.min(1_000, events - done));
  return events;
}

/** What reached the scenario's channel so far, as the analysis reads it: event id and acceptance time. */
function acceptedOn(channel: Channel, { smtp, endpoint, twilio }: Receivers): AcceptedMail[] {
  if (channel === 'sms')
    return twilio.received
      .filter((r) => r.answered === 201)
      .map((r) => ({ eventId: /Event (\d+) /.exec(r.body ?? '')?.[1] ?? null, acceptedAt: r.at }));
  if (channel === 'email') return smtp.received.map((m) => ({ eventId: m.eventId ?? null, acceptedAt: m.acceptedAt }));
  return endpoint.accepted().map((r) => ({
    eventId: (JSON.parse(r.body) as { data: { eventId: string } }).data.eventId,
    acceptedAt: r.answeredAt ?? r.at,
  }));
}

async function runScenario(
  scenario: Scenario,
  pool: Pool,
  receivers: Receivers,
  processes: Map<OrderlyProcessName, OrderlyProcess>,
  env: NodeJS.ProcessEnv,
): Promise<ScenarioResult> {
  const channel = scenario.channel ?? 'email';
  const fixture = await createLoadFixture(pool, scenario.burst?.orders ?? 100, {
    customers: scenario.burst ? 1 : 10,
    ...(channel === 'webhook' ? { webhookUrl: receivers.endpoint.url } : {}),
    sms: channel === 'sms',
  });
  const afterId = await maxEventId(pool);
  const acceptedBefore = acceptedOn(channel, receivers).length;
  const context: Context = {
    ...receivers,
    async crash(name, { comeBack = true } = {}) {
      await processes.get(name)?.kill();
      processes.delete(name);
      if (comeBack) processes.set(name, await startOrderly(name, env, { logPrefix: 'faults-' }));
    },
    restart: (name, { kill = false } = {}) => restart(name, { kill, stack }),
    stop: (name, { kill = false } = {}) => stop(name, { kill, stack }),
  };

  const load = scenario.burst
    ? insertBurst(pool, fixture, scenario.burst.events)
    : insertAtRate(pool, fixture, rate, seconds);
  await sleep(faultAt * 1000);
  if (!scenario.burst) console.log(`  injecting: ${scenario.name}`);
  const faultStarted = Date.now();
  // A fault that could not be injected as meant fails the scenario, and the load still drains before the next.
  const injected = await scenario.inject(context).then(
    (note) => ({ ok: true, note: note ?? '' }),
    (error: unknown) => ({
      ok: false,
      note: `the fault failed: ${error instanceof Error ? error.message : String(error)}`,
    }),
  );
  if (injected.note !== '') console.log(`  ${injected.note}`);
  const faultEnded = Date.now();
  const inserted = await load;
  const loadEnded = Date.now();

  // Recovery: every event delivered or dead-lettered, with no manual step.
  const deadline = Date.now() + (scenario.recoveryLimitMs ?? recoveryLimitMs);
  let events = await eventsSince(pool, afterId);
  for (;;) {
    const delivered = new Set(
      acceptedOn(channel, receivers)
        .slice(acceptedBefore)
        .map((m) => m.eventId),
    );
    const deadLettered = await deadLetteredAmong(
      pool,
      events.map((e) => e.eventId),
    );
    if (events.every((e) => delivered.has(e.eventId) || deadLettered.has(e.eventId)) || Date.now() > deadline) break;
    await sleep(500);
    events = await eventsSince(pool, afterId);
  }
  await sleep(3_000); // a late duplicate still counts
  events = await eventsSince(pool, afterId);
  const accepted = acceptedOn(channel, receivers).slice(acceptedBefore);
  const verdict = judge(events, accepted);
  const deadLettered = await deadLetteredAmong(
    pool,
    events.map((e) => e.eventId),
  );
  const deliveredIds = new Set(accepted.map((m) => m.eventId));
  const lost = events.filter((e) => !deliveredIds.has(e.eventId) && !deadLettered.has(e.eventId)).length;
  const recorded = await recordedAmong(
    pool,
    events.map((e) => e.eventId),
  );
  // An SMS is done when the provider accepted it, so the ledger must say `sent` for every one that arrived.
  const ledgerAgrees = channel !== 'sms' || [...deliveredIds].every((id) => id === null || recorded.has(id));
  const passed =
    injected.ok &&
    lost === 0 &&
    ledgerAgrees &&
    verdict.orderViolations === 0 &&
    (scenario.duplicatesPossible === true || verdict.duplicates === 0);
  return {
    scenario: scenario.name,
    expected: events.length,
    delivered: verdict.delivered,
    deadLettered: deadLettered.size,
    recorded: recorded.size,
    lost,
    duplicates: verdict.duplicates,
    orderViolations: verdict.orderViolations,
    lastDeliveryAfterFaultS: Math.max(0, Math.round((verdict.lastAcceptedAt - faultEnded) / 100) / 10),
    drainAfterLoadS: Math.max(0, Math.round((verdict.lastAcceptedAt - loadEnded) / 100) / 10),
    recoveredAfterS: recoveredAfterS(events, accepted, faultStarted),
    passed,
    note: [injected.note, inserted === events.length ? '' : `load wrote ${inserted}, MySQL holds ${events.length}`]
      .filter(Boolean)
      .join('; '),
  };
}

/** The results as a markdown table, for docs/testing.md and the README. */
function markdownTable(results: ScenarioResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.scenario} | ${r.delivered}/${r.expected} | ${r.lost} | ${r.duplicates} | ${r.orderViolations} | ${r.recoveredAfterS} s | ${r.passed ? 'ok' : 'FAILED'} |`,
  );
  return [
    '| scenario | delivered | lost | dup | order violations | time to recover | verdict |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const ofProfile = scenarios.filter((s) => (s.profiles ?? ['dev']).includes(stack.profile));
  const selected = options.only
    ? ofProfile.filter((s) => options.only!.split(',').includes(s.name))
    : ofProfile.filter((s) => !s.onRequest);
  if (selected.length === 0)
    throw new Error(
      `no scenario named ${options.only} for the ${stack.profile} profile; known: ${ofProfile.map((s) => s.name).join(', ')}`,
    );
  console.log(`faults: bringing up the local stack${stack.profile === 'dev' ? '' : ` (profile ${stack.profile})`}...`);
  await stackUp(() => {}, stack);
  const stackEnv = orderlyEnv(stack.profile);
  const config = loadConfig({ ...process.env, ...stackEnv });
  const pool = createPool(config);
  const smtp = await startFaultySmtp(Number(options.smtpPort));
  const endpoint = await startWebhookReceiver();
  const twilio = await startTwilioServer();
  const receivers: Receivers = { smtp, endpoint, twilio };
  const env = {
    ...stackEnv,
    SMTP_PORT: String(smtp.port),
    // A frozen endpoint's requests give up after 5 s, so the circuit opens within the fault.
    WEBHOOK_RESPONSE_TIMEOUT_MS: '5000',
    SMS_PROVIDERS: 'twilio',
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    TWILIO_FROM: '+15005550006',
    TWILIO_BASE_URL: twilio.url,
  };
  const names = ['workflow-worker', 'email-worker', 'webhook-worker', 'ingest'] as const;
  const processes = new Map<OrderlyProcessName, OrderlyProcess>();
  const startMissing = async () => {
    for (const name of names)
      if (!processes.has(name)) processes.set(name, await startOrderly(name, env, { logPrefix: 'faults-' }));
  };
  await startMissing();
  // The cluster profile runs a second workflow worker (its metrics on any free port), which no scenario kills.
  const second =
    stack.profile === 'cluster'
      ? [
          await startOrderly(
            'workflow-worker',
            { ...env, METRICS_PORT: '0', TEMPORAL_METRICS_PORT: '0' },
            { logPrefix: 'faults-second-' },
          ),
        ]
      : [];
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of selected) {
      const load = scenario.burst
        ? `${scenario.burst.events} events for ${scenario.burst.orders} order(s) at once`
        : `${rate} events/s for ${seconds} s, fault at ${faultAt} s`;
      console.log(`faults: ${scenario.name} (${load})`);
      const result = await runScenario(scenario, pool, receivers, processes, env);
      results.push(result);
      console.log(
        `  expected ${result.expected}, delivered ${result.delivered}, dead-lettered ${result.deadLettered}, done in the ledger ${result.recorded}, lost ${result.lost}, duplicates ${result.duplicates}, order violations ${result.orderViolations}, last delivery ${result.lastDeliveryAfterFaultS} s after the fault and ${result.drainAfterLoadS} s after the load: ${result.passed ? 'ok' : 'FAILED'}`,
      );
      await startMissing();
      const unhealthy = (await stackStatus(stack)).filter((row) => !row.health.healthy);
      if (unhealthy.length > 0)
        console.log(`  stack after the scenario: ${unhealthy.map((row) => `${row.name} unhealthy`).join(', ')}`);
    }
  } finally {
    await stopAll([...processes.values(), ...second]);
    await smtp.close();
    await endpoint.close();
    await twilio.close();
    await pool.end();
  }
  console.log('\nFault-injection results');
  console.table(
    results.map((r) => ({
      scenario: r.scenario,
      expected: r.expected,
      delivered: r.delivered,
      'dead-lettered': r.deadLettered,
      'done in ledger': r.recorded,
      lost: r.lost,
      duplicates: r.duplicates,
      'order viol.': r.orderViolations,
      'last after fault s': r.lastDeliveryAfterFaultS,
      'drain after load s': r.drainAfterLoadS,
      'recovered after s': r.recoveredAfterS,
      verdict: r.passed ? 'ok' : 'FAILED',
    })),
  );
  console.log(`\n${markdownTable(results)}`);
  mkdirSync(dirname(options.results), { recursive: true });
  writeFileSync(
    options.results,
    `${JSON.stringify({ when: new Date().toISOString(), rate, seconds, faultAt, results }, null, 2)}\n`,
  );
  if (results.some((r) => !r.passed)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`test:faults: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
