/**
 * `orderly`: the operators' command line. Inspect an event or order, hurry or cancel a notification, work
 * the dead letters, hold a customer, replay a time window, keep users' phone numbers and push devices, clear
 * bounced addresses. Every command prints readable text, or JSON
 * with `--json`, and exits non-zero (with one sentence) when it cannot do what was asked.
 */
import { userInfo } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import type { Pool } from 'mysql2/promise';
import { createAddressHasher } from '../address-hash.js';
import { startCodecServer } from './codec-server.js';
import { loadConfig, webhookDestinationPolicy } from '../config.js';
import { createPool } from '../db/pool.js';
import { apiKeyOperations } from '../operations/api-keys.js';
import { auditOperations } from '../operations/audit.js';
import { customerOperations } from '../operations/customers.js';
import { type DeadLetterRecord, type DeadLetterStatus, deadLetterOperations } from '../operations/dead-letters.js';
import { NotFound, requireId } from '../operations/errors.js';
import { type EventStatus, eventOperations } from '../operations/events.js';
import { type OrderStatus, orderOperations } from '../operations/orders.js';
import { type PhoneNumber, phoneNumberOperations } from '../operations/phone-numbers.js';
import { quietHoursOperations } from '../operations/quiet-hours.js';
import { type FlowCompletion, flowCompletionOperations } from '../operations/flow-completions.js';
import { type DigestView, digestOperations } from '../operations/digests.js';
import { subscriptionOperations } from '../operations/subscriptions.js';
import type { Channel } from '../domain.js';
import { type PushRegistration, pushRegistrationOperations } from '../operations/push-registrations.js';
import { replayOperations } from '../operations/replay.js';
import { erasureOperations } from '../operations/erasure.js';
import { type SuppressionRecord, suppressionOperations } from '../operations/suppressions.js';
import { webhookEndpointOperations } from '../operations/webhook-endpoints.js';
import { createSecretBox } from '../secrets.js';
import { destinationChecks } from '../webhook-destination.js';
import { dataConverterOf } from '../payload-codec.js';

interface Context {
  pool: Pool;
  client: Client;
}

/**
 * Opens MySQL and Temporal for one command, runs it, closes them; a failure is one line on stderr and exit 1.
 * A command that changes state names its `audit` action: it is recorded in `audit_log` (actor `cli:<OS user>`,
 * its arguments as the target) with how it ended.
 */
/** Users' push devices, refused where the destination policy refuses webhooks. */
const pushRegistrations = (pool: Pool) =>
  pushRegistrationOperations({ pool, destinations: destinationChecks(webhookDestinationPolicy(loadConfig())) });

function withContext<A extends unknown[]>(
  action: (context: Context, ...args: A) => Promise<void>,
  { audit, conceal = [] }: { audit?: string; conceal?: string[] } = {},
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const config = loadConfig();
    const pool = createPool(config);
    let connection: Connection | undefined;
    let outcome = 'ok';
    try {
      connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS }).catch((error: unknown) => {
        throw new Error(
          `cannot connect to Temporal at ${config.TEMPORAL_ADDRESS}: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
      const client = new Client({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        dataConverter: dataConverterOf(config),
      });
      await action({ pool, client }, ...args);
    } catch (error) {
      outcome = `failed: ${error instanceof Error ? error.message : String(error)}`;
      console.error(`orderly: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    } finally {
      if (audit !== undefined) await recordCliAction(pool, audit, args, outcome, conceal);
      await connection?.close();
      await pool.end();
    }
  };
}

/** `conceal`: options whose values are secrets (a browser's push keys), recorded as `(concealed)`. */
async function recordCliAction(
  pool: Pool,
  action: string,
  args: unknown[],
  outcome: string,
  conceal: string[],
): Promise<void> {
  const target = args.filter((arg): arg is string => typeof arg === 'string').join(' ');
  const options = args.find(
    (arg): arg is Record<string, unknown> => typeof arg === 'object' && arg !== null && !(arg instanceof Command),
  );
  const detail =
    options === undefined
      ? ''
      : Object.entries(options)
          .map(
            ([key, value]) =>
              `--${key} ${conceal.includes(key) ? '(concealed)' : value instanceof Date ? value.toISOString() : String(value)}`,
          )
          .join(' ');
  await auditOperations({ pool })
    .record({
      actor: `cli:${userInfo().username}`,
      action,
      target: [target, detail].filter(Boolean).join(' ') || '-',
      outcome,
    })
    .catch((error: unknown) =>
      console.error(
        `orderly: the audit trail could not record this action: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
}

const asPositiveInteger = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a whole number above 0`);
  return n;
};

const asTime = (value: string): Date => {
  const time = new Date(value);
  if (Number.isNaN(time.getTime()))
    throw new InvalidArgumentError(`"${value}" is not a time (ISO 8601, e.g. 2026-11-21T07:00:00Z)`);
  return time;
};

function output(json: boolean | undefined, data: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(data, null, 2) : text());
}

function renderEvent(status: EventStatus): string {
  const lines = [
    `event ${status.eventId} (${status.status}) of order ${status.orderId}, customer ${status.customerId}, occurred ${status.occurredAt}`,
  ];
  for (const n of status.notifications) {
    lines.push(
      `  notification ${n.notificationId}: ${n.state ?? 'no state'} (workflow ${n.workflowId}: ${n.workflow})`,
    );
    for (const r of n.retrying)
      lines.push(`    retrying ${r.activity}: attempt ${r.attempt}, last failure: ${r.lastFailure ?? '-'}`);
    if (n.deliveries.length === 0) lines.push('    no recipients');
    for (const d of n.deliveries) {
      const to = d.endpointId === null ? (d.recipient ?? '(no address)') : `webhook endpoint ${d.endpointId}`;
      const via = d.provider === null ? '' : ` via ${d.provider}`;
      const detail = ['delivered', 'sent'].includes(d.state) ? `at ${d.deliveredAt}` : (d.reason ?? d.lastError ?? '');
      lines.push(
        `    user ${d.userId} ${d.channel} ${to}${via}: ${d.state}, ${d.attempts} attempt(s)${detail ? `, ${detail}` : ''}`,
      );
    }
  }
  return lines.join('\n');
}

function renderOrder(status: OrderStatus): string {
  const running = `${status.running.length} notification(s) running${status.running.length ? ` (oldest first: ${status.running.join(', ')})` : ''}`;
  const lines = [`order ${status.orderId} of customer ${status.customerId}: ${running}`];
  for (const e of status.events) {
    const states =
      Object.entries(e.deliveries)
        .map(([state, n]) => `${n} ${state}`)
        .join(', ') || 'no deliveries recorded';
    lines.push(`  event ${e.eventId} (${e.status}, ${e.occurredAt}): ${states}`);
  }
  return lines.join('\n');
}

function renderDeadLetter(d: DeadLetterRecord): string {
  const to =
    d.userId === null
      ? 'whole event'
      : `user ${d.userId} ${d.channel ?? ''}${d.endpointId ? ` endpoint ${d.endpointId}` : ''}`;
  return `#${d.id} [${d.status}] ${d.createdAt} event ${d.eventId} order ${d.orderId} customer ${d.customerId} ${to}: ${d.errorType} after ${d.attempts} attempt(s): ${d.message}`;
}

const program = new Command('orderly')
  .description('Operate Orderly: inspect, retry, cancel, redrive, hold, replay')
  .showHelpAfterError();

program
  .command('status <id>')
  .description(
    'an event (or, with --order or when no event has this id, an order): state, attempts, last error, recipients',
  )
  .option('--order', 'the id is an order id')
  .option('--json', 'print JSON')
  .action(
    withContext(async ({ pool, client }, id: string, options: { order?: boolean; json?: boolean }) => {
      requireId(options.order ? 'order' : 'event or order', id);
      if (!options.order) {
        try {
          const status = await eventOperations({ pool, client }).status(id);
          output(options.json, status, () => renderEvent(status));
          return;
        } catch (error) {
          if (!(error instanceof NotFound)) throw error;
        }
      }
      try {
        const status = await orderOperations({ pool, client }).status(id);
        output(options.json, status, () => renderOrder(status));
      } catch (error) {
        if (error instanceof NotFound && !options.order) throw new NotFound(`there is no event or order ${id}`);
        throw error;
      }
    }),
  );

program
  .command('retry <eventId>')
  .description('a notification that is backing off tries again now')
  .action(
    withContext(
      async ({ pool, client }, eventId: string) => {
        await eventOperations({ pool, client }).retry(requireId('event', eventId));
        console.log(`event ${eventId}: asked its notification to try again now`);
      },
      { audit: 'retry' },
    ),
  );

program
  .command('cancel <eventId>')
  .description('stop a notification: what is not delivered is recorded as cancelled, and the order moves on')
  .option('--reason <text>', 'recorded with the cancellation', 'cancelled by an operator')
  .action(
    withContext(
      async ({ pool, client }, eventId: string, options: { reason: string }) => {
        await eventOperations({ pool, client }).cancel(requireId('event', eventId), options.reason);
        console.log(`event ${eventId}: notification cancelled (${options.reason})`);
      },
      { audit: 'cancel' },
    ),
  );

const dlq = program.command('dlq').description('dead letters: notifications that failed for good');

dlq
  .command('list')
  .option('--customer <id>', 'only this customer')
  .option('--since <time>', 'only dead letters created since (ISO 8601)', asTime)
  .option('--status <status>', 'open, redriven, discarded or all', 'open')
  .option('--json', 'print JSON')
  .action(
    withContext(
      async (
        { pool, client },
        options: { customer?: string; since?: Date; status: DeadLetterStatus | 'all'; json?: boolean },
      ) => {
        const entries = await deadLetterOperations({ pool, client }).list({
          customerId: options.customer,
          since: options.since,
          status: options.status,
        });
        output(options.json, entries, () =>
          entries.length === 0
            ? `no ${options.status === 'all' ? '' : `${options.status} `}dead letters`
            : entries.map(renderDeadLetter).join('\n'),
        );
      },
    ),
  );

dlq
  .command('show <id>')
  .option('--json', 'print JSON')
  .action(
    withContext(async ({ pool, client }, id: string, options: { json?: boolean }) => {
      const entry = await deadLetterOperations({ pool, client }).show(requireId('dead letter', id));
      output(options.json, entry, () => renderDeadLetter(entry));
    }),
  );

dlq
  .command('redrive [id]')
  .description('send a dead letter (or, with --all, every open one) through its order again')
  .option('--all', 'every open dead letter')
  .option('--since <time>', 'with --all: only those created since', asTime)
  .action(
    withContext(
      async ({ pool, client }, id: string | undefined, options: { all?: boolean; since?: Date }) => {
        const deadLetters = deadLetterOperations({ pool, client });
        if ((id === undefined) === (options.all !== true))
          throw new Error('give a dead letter id or --all, not both or neither');
        const ids =
          id !== undefined
            ? [requireId('dead letter', id)]
            : (await deadLetters.list({ since: options.since })).map((d) => d.id);
        for (const one of ids) {
          const { workflowId } = await deadLetters.redrive(one);
          console.log(`dead letter ${one}: redriven as ${workflowId}`);
        }
        if (ids.length === 0) console.log('no open dead letters to redrive');
      },
      { audit: 'dlq redrive' },
    ),
  );

dlq
  .command('discard <id>')
  .option('--reason <text>', 'recorded with the dead letter', 'discarded by an operator')
  .action(
    withContext(
      async ({ pool, client }, id: string, options: { reason: string }) => {
        await deadLetterOperations({ pool, client }).discard(requireId('dead letter', id), options.reason);
        console.log(`dead letter ${id}: discarded (${options.reason})`);
      },
      { audit: 'dlq discard' },
    ),
  );

program
  .command('pause <customerId>')
  .description("hold a customer's notifications (durably) until resume")
  .option('--reason <text>')
  .action(
    withContext(
      async ({ pool, client }, customerId: string, options: { reason?: string }) => {
        await customerOperations({ pool, client }).pause(customerId, options.reason);
        console.log(`customer ${customerId}: held; new notifications wait until \`orderly resume ${customerId}\``);
      },
      { audit: 'pause' },
    ),
  );

program
  .command('resume <customerId>')
  .description("release a held customer's notifications")
  .action(
    withContext(
      async ({ pool, client }, customerId: string) => {
        const { released } = await customerOperations({ pool, client }).resume(customerId);
        console.log(`customer ${customerId}: resumed; ${released} held notification(s) released`);
      },
      { audit: 'resume' },
    ),
  );

program
  .command('replay')
  .description('re-derive notifications from order_events rows in a window, skipping what deliveries shows settled')
  .requiredOption('--from <time>', 'start of the window (ISO 8601, inclusive)', asTime)
  .option('--to <time>', 'end of the window (exclusive; default now)', asTime)
  .option('--dry-run', 'list what would be sent, send nothing')
  .option('--json', 'print JSON')
  .action(
    withContext(
      async ({ pool, client }, options: { from: Date; to?: Date; dryRun?: boolean; json?: boolean }) => {
        const found = await replayOperations({ pool, client }).replay(options.from, options.to ?? new Date(), {
          dryRun: options.dryRun,
        });
        output(options.json, found, () =>
          [
            `${found.length} event(s) ${options.dryRun ? 'would be sent again' : 'sent again'}`,
            ...found.map(
              (c) => `  event ${c.eventId} order ${c.orderId} customer ${c.customerId} (${c.occurredAt}): ${c.reason}`,
            ),
          ].join('\n'),
        );
      },
      { audit: 'replay' },
    ),
  );

const apiKey = program.command('api-key').description('keys for the HTTP API (stored hashed; a key is shown once)');

apiKey
  .command('create')
  .requiredOption('--name <name>', 'who or what the key is for')
  .option('--customer <id>', "a customer's key (sees only that customer's data); without it, an operator key")
  .action(
    withContext(
      async ({ pool }, options: { name: string; customer?: string }) => {
        const { id, key } = await apiKeyOperations({ pool }).create(options.name, options.customer);
        console.log(
          `API key ${id} (${options.customer === undefined ? 'operator' : `customer ${options.customer}`}): ${key}`,
        );
        console.log('Store it now: only its hash is kept.');
      },
      { audit: 'api-key create' },
    ),
  );

apiKey.command('revoke <id>').action(
  withContext(
    async ({ pool }, id: string) => {
      await apiKeyOperations({ pool }).revoke(id);
      console.log(`API key ${id}: revoked`);
    },
    { audit: 'api-key revoke' },
  ),
);

const endpoint = program.command('endpoint').description("customers' webhook endpoints");

endpoint
  .command('rotate-secret <id>')
  .description('issue a new signing secret (shown once); the old one keeps signing beside it for the grace period')
  .option(
    '--grace <seconds>',
    'how long the old secret keeps signing (default WEBHOOK_SECRET_GRACE_S, 24 h)',
    (value) => Number(value),
  )
  .action(
    withContext(
      async ({ pool }, id: string, options: { grace?: number }) => {
        const config = loadConfig();
        const endpoints = webhookEndpointOperations({
          pool,
          destinations: destinationChecks(webhookDestinationPolicy(config)),
          secrets: createSecretBox(config.SECRETS_ENCRYPTION_KEYS),
          secretGraceS: config.WEBHOOK_SECRET_GRACE_S,
        });
        const rotated = await endpoints.rotateSecret(requireId('webhook endpoint', id), undefined, options.grace);
        console.log(`webhook endpoint ${id}: new secret ${rotated.secret}`);
        console.log(
          `Store it now: it is kept sealed. The previous secret keeps signing until ${rotated.previousSecretExpiresAt}.`,
        );
      },
      { audit: 'endpoint rotate-secret' },
    ),
  );

const renderPhone = (p: PhoneNumber) => `user ${p.userId}: ${p.number} (since ${p.since})`;
const renderPush = (r: PushRegistration) =>
  `#${r.id} user ${r.userId} ${r.kind} ${r.endpoint ?? `token ${r.tokenEnding}`} (since ${r.createdAt})`;

const contact = program
  .command('contact')
  .description("where users are reached by SMS and push (operators: any user's)");
const phone = contact.command('phone').description("a user's mobile number (one per user, kept in E.164)");

phone
  .command('set <userId> <number>')
  .description('set or replace the number: international (+44 7400 123456), or national with --country')
  .option('--country <code>', 'ISO 3166-1 alpha-2 country of a national number (GB)')
  .option('--json', 'print JSON')
  .action(
    withContext(
      async ({ pool }, userId: string, number: string, options: { country?: string; json?: boolean }) => {
        const stored = await phoneNumberOperations({ pool }).set(
          requireId('user', userId),
          { number, ...(options.country === undefined ? {} : { country: options.country.toUpperCase() }) },
          undefined,
        );
        output(options.json, stored, () => renderPhone(stored));
      },
      { audit: 'contact phone set' },
    ),
  );

phone
  .command('show <userId>')
  .option('--json', 'print JSON')
  .action(
    withContext(async ({ pool }, userId: string, options: { json?: boolean }) => {
      const stored = await phoneNumberOperations({ pool }).get(requireId('user', userId), undefined);
      output(options.json, stored, () => renderPhone(stored));
    }),
  );

phone.command('remove <userId>').action(
  withContext(
    async ({ pool }, userId: string) => {
      await phoneNumberOperations({ pool }).remove(requireId('user', userId), undefined);
      console.log(`user ${userId}: phone number removed`);
    },
    { audit: 'contact phone remove' },
  ),
);

const push = contact.command('push').description("a user's push devices (Web Push subscriptions, FCM tokens)");

push
  .command('add <userId>')
  .description('register a device; the same device again is the existing registration')
  .option('--web-push <json>', "a browser's subscription, as PushSubscription.toJSON() gives it")
  .option('--fcm <token>', 'an FCM registration token')
  .option('--json', 'print JSON')
  .action(
    withContext(
      async ({ pool }, userId: string, options: { webPush?: string; fcm?: string; json?: boolean }) => {
        if ((options.webPush === undefined) === (options.fcm === undefined))
          throw new Error('give --web-push <subscription JSON> or --fcm <token>, not both or neither');
        const { registration, created } = await pushRegistrations(pool).register(
          requireId('user', userId),
          options.webPush !== undefined
            ? { kind: 'web-push', subscription: options.webPush }
            : { kind: 'fcm', token: options.fcm },
          undefined,
        );
        output(
          options.json,
          registration,
          () =>
            `push registration ${registration.id}: ${created ? 'registered' : 'already registered'} (${renderPush(registration)})`,
        );
      },
      { audit: 'contact push add', conceal: ['webPush', 'fcm'] },
    ),
  );

push
  .command('list <userId>')
  .option('--json', 'print JSON')
  .action(
    withContext(async ({ pool }, userId: string, options: { json?: boolean }) => {
      const registrations = await pushRegistrations(pool).list(requireId('user', userId), undefined);
      output(options.json, registrations, () =>
        registrations.length === 0
          ? `user ${userId} has no push registrations`
          : registrations.map(renderPush).join('\n'),
      );
    }),
  );

push.command('remove <registrationId>').action(
  withContext(
    async ({ pool }, id: string) => {
      await pushRegistrations(pool).remove(requireId('push registration', id), undefined);
      console.log(`push registration ${id}: removed`);
    },
    { audit: 'contact push remove' },
  ),
);

const quiet = contact
  .command('quiet-hours')
  .description("when a user is not to be disturbed: one daily window in the user's time zone");
const renderQuiet = (q: Awaited<ReturnType<ReturnType<typeof quietHoursOperations>['get']>>) =>
  `user ${q.userId}: quiet ${q.startsAt} to ${q.endsAt} ${q.timeZone} on ${q.channels.join(', ')}${q.failuresExempt ? ' (failures go through)' : ''}`;

quiet
  .command('set <userId>')
  .description("hold notifications on the window's channels until it ends (the order's next ones wait behind them)")
  .requiredOption('--zone <timeZone>', 'an IANA time zone (Europe/Paris)')
  .requiredOption('--from <HH:MM>', 'local start, inclusive')
  .requiredOption('--to <HH:MM>', 'local end, exclusive; before --from, the window spans midnight')
  .option('--channels <list>', 'channels held (email, sms, push, webhook)', 'sms,push')
  .option('--failures-exempt', 'failure notifications go out even in the window')
  .option('--json', 'print JSON')
  .action(
    withContext(
      async (
        { pool },
        userId: string,
        options: { zone: string; from: string; to: string; channels: string; failuresExempt?: boolean; json?: boolean },
      ) => {
        const stored = await quietHoursOperations({ pool }).set(
          requireId('user', userId),
          {
            timeZone: options.zone,
            startsAt: options.from,
            endsAt: options.to,
            channels: parseChannels(options.channels),
            failuresExempt: options.failuresExempt ?? false,
          },
          undefined,
        );
        output(options.json, stored, () => renderQuiet(stored));
      },
      { audit: 'contact quiet-hours set' },
    ),
  );

quiet
  .command('show <userId>')
  .option('--json', 'print JSON')
  .action(
    withContext(async ({ pool }, userId: string, options: { json?: boolean }) => {
      const stored = await quietHoursOperations({ pool }).get(requireId('user', userId), undefined);
      output(options.json, stored, () => renderQuiet(stored));
    }),
  );

quiet.command('remove <userId>').action(
  withContext(
    async ({ pool }, userId: string) => {
      await quietHoursOperations({ pool }).remove(requireId('user', userId), undefined);
      console.log(`user ${userId}: quiet hours removed`);
    },
    { audit: 'contact quiet-hours remove' },
  ),
);

const flow = program.command('flow').description("customers' flows");
const completion = flow
  .command('completion')
  .description('the steps whose success completes an order of a flow: one "order complete" notification, once');
const renderCompletion = (c: FlowCompletion) =>
  `flow ${c.flowId} of customer ${c.customerId}: complete when ${c.steps.join(', ')} succeeded`;

completion
  .command('set <customerId> <flowId> <steps...>')
  .description('name the steps (event types), e.g. order.placed payment.captured order.shipped')
  .option('--json', 'print JSON')
  .action(
    withContext(
      async ({ pool }, customerId: string, flowId: string, steps: string[], options: { json?: boolean }) => {
        const stored = await flowCompletionOperations({ pool }).set(
          requireId('customer', customerId),
          flowId,
          steps,
          undefined,
        );
        output(options.json, stored, () => renderCompletion(stored));
      },
      { audit: 'flow completion set' },
    ),
  );

completion
  .command('show <customerId> <flowId>')
  .option('--json', 'print JSON')
  .action(
    withContext(async ({ pool }, customerId: string, flowId: string, options: { json?: boolean }) => {
      const stored = await flowCompletionOperations({ pool }).get(requireId('customer', customerId), flowId, undefined);
      output(options.json, stored, () => renderCompletion(stored));
    }),
  );

completion.command('remove <customerId> <flowId>').action(
  withContext(
    async ({ pool }, customerId: string, flowId: string) => {
      await flowCompletionOperations({ pool }).remove(requireId('customer', customerId), flowId, undefined);
      console.log(`flow ${flowId} of customer ${customerId}: completion removed`);
    },
    { audit: 'flow completion remove' },
  ),
);

const digest = program
  .command('digest')
  .description("recipients' digests: their events collected into one message per window, sent when it closes");
const renderDigest = (d: DigestView) =>
  `digest ${d.id} (${d.digestKey}): ${d.state}, ${d.items} of at most ${d.maxItems} events, ${d.state === 'open' ? `sent by ${d.closesAt}` : `opened ${d.openedAt}`}${d.reason === null ? '' : `: ${d.reason}`}`;

digest
  .command('set <subscriptionId>')
  .description("collect a subscription's events into one message per window (email and webhook subscriptions)")
  .requiredOption('--window <seconds>', "seconds from a digest's first event to its send", asPositiveInteger)
  .option('--max-items <n>', 'send at once when it holds this many (at most 500)', asPositiveInteger)
  .action(
    withContext(
      async ({ pool }, subscriptionId: string, options: { window: number; maxItems?: number }) => {
        const digestSetting = { windowS: options.window, ...(options.maxItems ? { maxItems: options.maxItems } : {}) };
        const stored = await subscriptionOperations({ pool }).update(
          requireId('subscription', subscriptionId),
          { digest: digestSetting },
          undefined,
        );
        console.log(
          `subscription ${stored.id}: digests of ${stored.digest!.windowS} s, at most ${stored.digest!.maxItems} events`,
        );
      },
      { audit: 'digest set' },
    ),
  );

digest.command('off <subscriptionId>').action(
  withContext(
    async ({ pool }, subscriptionId: string) => {
      await subscriptionOperations({ pool }).update(
        requireId('subscription', subscriptionId),
        { digest: null },
        undefined,
      );
      console.log(`subscription ${subscriptionId}: each event on its own (open digests still go when they close)`);
    },
    { audit: 'digest off' },
  ),
);

digest
  .command('list')
  .description('the latest digests, newest first')
  .option('--state <state>', 'only these: open (collecting), closed, sending, delivered, dead_lettered, cancelled')
  .option('--json', 'print JSON')
  .action(
    withContext(async ({ pool, client }, options: { state?: string; json?: boolean }) => {
      const found = await digestOperations({ pool, client }).list(undefined, options);
      output(options.json, found, () => (found.length === 0 ? 'no digests' : found.map(renderDigest).join('\n')));
    }),
  );

digest
  .command('show <id>')
  .description('one digest and its events, in the order it lists them')
  .option('--json', 'print JSON')
  .action(
    withContext(async ({ pool, client }, id: string, options: { json?: boolean }) => {
      const found = await digestOperations({ pool, client }).get(requireId('digest', id), undefined);
      output(options.json, found, () =>
        [
          renderDigest(found),
          ...found.events.map((e, i) => `  ${i + 1}. order ${e.orderId}, event ${e.eventId}: ${e.status}`),
        ].join('\n'),
      );
    }),
  );

digest
  .command('flush <id>')
  .description('send the digest now, with the events it holds')
  .action(
    withContext(
      async ({ pool, client }, id: string) => {
        const flushed = await digestOperations({ pool, client }).flush(requireId('digest', id), undefined);
        console.log(`digest ${id}: sending its ${flushed.items} events now (orderly digest show ${id})`);
      },
      { audit: 'digest flush' },
    ),
  );

digest
  .command('cancel <id>')
  .description('cancel the digest: its events are recorded cancelled and not sent')
  .option('--reason <text>', 'why, kept with the digest', 'cancelled by an operator')
  .action(
    withContext(
      async ({ pool, client }, id: string, options: { reason: string }) => {
        const cancelled = await digestOperations({ pool, client }).cancel(
          requireId('digest', id),
          options.reason,
          undefined,
        );
        console.log(`digest ${id}: cancelled, its ${cancelled.items} events will not be sent`);
      },
      { audit: 'digest cancel' },
    ),
  );

/** `sms,push` as channels; anything else is a one-sentence error. */
function parseChannels(list: string): Channel[] {
  const known: Channel[] = ['email', 'sms', 'push', 'webhook'];
  const channels = list.split(',').map((c) => c.trim());
  const unknown = channels.filter((c) => !known.includes(c as Channel));
  if (unknown.length > 0) throw new Error(`unknown channel ${unknown.join(', ')} (email, sms, push, webhook)`);
  return channels as Channel[];
}

const renderSuppression = (s: SuppressionRecord) =>
  `#${s.id} ${s.address ?? '(erased address)'}: ${s.suppressed ? 'suppressed' : 'counting'} (${s.reason} ${s.statusCode}${s.reason === 'transient' ? `, ${s.transientCount} transient` : ''}), last ${s.lastSeenAt}${s.diagnostic === null ? '' : `: ${s.diagnostic}`}`;

const suppressions = program
  .command('suppressions')
  .description('email addresses that bounced: later mail to them is recorded suppressed, not sent');

suppressions
  .command('list')
  .description('addresses on the list, in id order (page on with --after <last id>)')
  .option('--customer <id>', "only addresses of this customer's users")
  .option('--address <address>', 'only this address')
  .option('--reason <reason>', 'permanent or transient')
  .option('--all', 'also addresses whose transient failures are still being counted')
  .option('--since <time>', 'only those last reported since (ISO 8601)', asTime)
  .option('--after <id>', 'the next page: entries after this id')
  .option('--limit <n>', 'at most this many', (value) => Number(value), 100)
  .option('--json', 'print JSON')
  .action(
    withContext(
      async (
        { pool },
        options: {
          customer?: string;
          address?: string;
          reason?: 'permanent' | 'transient';
          all?: boolean;
          since?: Date;
          after?: string;
          limit: number;
          json?: boolean;
        },
      ) => {
        const { customer, all, json, ...filter } = options;
        const entries = await suppressionOperations({ pool }).list(
          { ...filter, customerId: customer, state: all ? 'all' : 'suppressed' },
          undefined,
        );
        output(json, entries, () =>
          entries.length === 0 ? 'no suppressed addresses' : entries.map(renderSuppression).join('\n'),
        );
      },
    ),
  );

suppressions
  .command('clear <address>')
  .description("take an address off the list (once it works again, e.g. on the recipient's request)")
  .action(
    withContext(
      async ({ pool }, address: string) => {
        const cleared = await suppressionOperations({ pool }).clear(address, undefined);
        console.log(`${cleared.address}: cleared (was ${cleared.reason} ${cleared.statusCode}); mail goes to it again`);
      },
      { audit: 'suppressions clear' },
    ),
  );

const recipients = program.command('recipients').description("recipients' personal data");
recipients
  .command('erase <userId>')
  .description(
    "erase a user's name, address, phone number, push devices, quiet hours and digest choices (a data subject's request); later events for them are suppressed",
  )
  .option('--json', 'print JSON')
  .action(
    withContext(
      async ({ pool }, userId: string, options: { json?: boolean }) => {
        const report = await erasureOperations({
          pool,
          hashAddress: createAddressHasher(loadConfig().ERASURE_HASH_KEY),
        }).erase(userId, undefined);
        output(options.json, report, () =>
          [
            `user ${report.userId}: erased (${report.erasedAt})`,
            `  rows: ${Object.entries(report.rows)
              .filter(([, n]) => n > 0)
              .map(([table, n]) => `${table} ${n}`)
              .join(', ')}`,
            '  what remains:',
            ...report.remains.map((line) => `    - ${line}`),
          ].join('\n'),
        );
      },
      { audit: 'recipients erase' },
    ),
  );

program
  .command('codec-server')
  .description(
    "serve the Temporal Web UI's payload decoding on this machine, with your operator key (ORDERLY_API_KEY): the UI then shows what notifications hold",
  )
  .option('--port <port>', 'where to listen, on 127.0.0.1', asPositiveInteger, 8081)
  .option('--api <url>', "Orderly's API", 'http://127.0.0.1:8080')
  .option(
    '--ui-origin <origins>',
    'Web UI origins allowed to call it, comma-separated',
    'http://127.0.0.1:8233,http://localhost:8233',
  )
  .action(async (options: { port: number; api: string; uiOrigin: string }) => {
    const apiKey = process.env.ORDERLY_API_KEY ?? '';
    try {
      if (apiKey === '') throw new Error('set ORDERLY_API_KEY to an operator API key (orderly api-key create <name>)');
      const probe = await fetch(`${options.api}/v1/codec/encode`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ payloads: [] }),
      }).catch((error: unknown) => {
        throw new Error(
          `cannot reach Orderly's API at ${options.api}: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
      if (!probe.ok)
        throw new Error(
          `Orderly's API at ${options.api} refused the key (${probe.status}): it must be an operator key`,
        );
      const uiOrigins = options.uiOrigin.split(',').map((origin) => origin.trim());
      const server = await startCodecServer({ port: options.port, apiUrl: options.api, apiKey, uiOrigins });
      console.log(
        `codec server on http://127.0.0.1:${options.port} for ${uiOrigins.join(', ')}, decoding through ${options.api}`,
      );
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => server.close(() => resolve()));
      });
    } catch (error) {
      console.error(`orderly: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  });

program
  .command('audit')
  .description('state-changing actions of operators and customers (CLI and API), newest first')
  .option('--since <time>', 'only those since', asTime)
  .option('--limit <n>', 'at most this many', (value) => Number(value), 50)
  .option('--json', 'print JSON')
  .action(
    withContext(async ({ pool }, options: { since?: Date; limit: number; json?: boolean }) => {
      const entries = await auditOperations({ pool }).list({
        scope: undefined,
        since: options.since,
        limit: options.limit,
      });
      output(options.json, entries, () =>
        entries.length === 0
          ? 'no actions recorded'
          : entries.map((e) => `${e.at}  ${e.actor}  ${e.action} ${e.target}: ${e.outcome}`).join('\n'),
      );
    }),
  );

await program.parseAsync();
