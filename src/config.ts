import { z } from 'zod';
import type { EndpointPolicy, WebhookCustomerLimits } from './domain.js';
import type { DestinationPolicy } from './webhook-destination.js';

const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().positive();
/** A comma-separated list; empty entries dropped. */
const list = z
  .string()
  .default('')
  .transform((text) =>
    text
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

/**
 * Every setting of every Orderly process, read once from environment variables.
 * Defaults point at the local stack (`npm run stack:up`), so nothing needs setting on a dev machine.
 */
const configSchema = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),

  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((brokers) => brokers.split(',').map((b) => b.trim())),
  KAFKA_CLIENT_ID: z.string().default('orderly'),
  KAFKA_GROUP_ID: z.string().default('orderly-ingest'),
  KAFKA_EVENTS_TOPIC: z.string().default('cdc.orderly.order_events'),
  /** Messages that can never become a notification go here, with the reason and their original bytes. */
  KAFKA_DEAD_LETTER_TOPIC: z.string().default('orderly.ingest.dead-letters'),
  /** How many partitions one ingest process works on at once; order is kept within each. */
  KAFKA_PARTITIONS_CONCURRENTLY: positiveInt.default(6),

  MYSQL_HOST: z.string().default('127.0.0.1'),
  MYSQL_PORT: port.default(3306),
  MYSQL_USER: z.string().default('orderly'),
  MYSQL_PASSWORD: z.string().default('orderly'),
  MYSQL_DATABASE: z.string().default('orderly'),
  MYSQL_POOL_SIZE: positiveInt.default(10),

  SMTP_HOST: z.string().default('127.0.0.1'),
  SMTP_PORT: port.default(1025),
  SMTP_SECURE: z.stringbool().default(false),
  SMTP_USER: z.string().optional(),
  SMTP_PASSWORD: z.string().optional(),
  /**
   * Pooled connections per email worker: each carries one message at a time, about 20 per second against
   * a local server (nodemailer leaves Nagle on, so each message waits ~40 ms for the server's delayed ACK).
   */
  SMTP_POOL_SIZE: positiveInt.default(10),
  MAIL_FROM: z.string().default('Orderly <notifications@orderly.local>'),
  /**
   * The domain of each mail's envelope sender, `bounce+<token>@<BOUNCE_DOMAIN>` (VERP): its MX must be the bounce
   * listener (`npm run start:bounces`), so a bounce names the delivery it is about.
   */
  BOUNCE_DOMAIN: z.string().default('bounces.orderly.local'),
  /** Where the bounce listener accepts delivery status notifications (SMTP). */
  BOUNCE_SMTP_HOST: z.string().default('127.0.0.1'),
  BOUNCE_SMTP_PORT: port.default(2525),
  /**
   * Where feedback loops send complaints (RFC 5965 reports): a fixed address, since they do not write to the
   * per-delivery bounce address. Unset: `complaints@<BOUNCE_DOMAIN>`. Its MX must be the bounce listener too.
   */
  BOUNCE_COMPLAINT_ADDRESS: z.email().optional(),
  /** Transient bounces (4.x.x) of one address before it is suppressed like a permanent one. */
  BOUNCE_TRANSIENT_LIMIT: positiveInt.default(3),
  /** Concurrent sends per email worker; more than the pool size just queues inside nodemailer. */
  EMAIL_MAX_CONCURRENT_ACTIVITIES: positiveInt.default(20),

  /** Webhook delivery defaults; an endpoint's own columns in `webhook_endpoints` override them. */
  WEBHOOK_RETRY_SCHEDULE_S: z
    .string()
    .default('5,30,120,600,3600')
    .transform((list) => list.split(',').map(Number))
    .pipe(z.array(z.number().nonnegative()).min(1)),
  WEBHOOK_MAX_AGE_S: positiveInt.default(24 * 3600),
  WEBHOOK_RATE_LIMIT_PER_S: positiveInt.default(50),
  WEBHOOK_MAX_IN_FLIGHT: positiveInt.default(4),
  /**
   * The most a customer's key may set an endpoint's `maxInFlight` and `rateLimitPerS` to: an endpoint holds up to
   * `maxInFlight` webhook-worker slots while it hangs. Operators (their key, the CLI) may set more.
   */
  WEBHOOK_MAX_IN_FLIGHT_LIMIT: positiveInt.default(20),
  WEBHOOK_RATE_LIMIT_PER_S_LIMIT: positiveInt.default(200),
  WEBHOOK_CIRCUIT_FAILURE_THRESHOLD: positiveInt.default(5),
  WEBHOOK_CIRCUIT_COOLDOWN_S: positiveInt.default(30),
  /** Per request, on the webhook worker: a hanging endpoint gives up a slot after at most connect + response. */
  WEBHOOK_CONNECT_TIMEOUT_MS: positiveInt.default(5_000),
  WEBHOOK_RESPONSE_TIMEOUT_MS: positiveInt.default(10_000),
  /**
   * A webhook's first attempt is made directly from the notification's first attempt (on the workflow workers) when
   * its endpoint's last attempt succeeded and it is under its rate limit and in-flight cap; otherwise, and when the
   * direct attempt fails, the endpoint's workflow takes the delivery. Off: every delivery goes through the workflow
   * (for workflow workers that may not reach the internet).
   */
  WEBHOOK_DIRECT_ATTEMPTS: z.stringbool().default(true),
  /** A direct attempt without an answer by then is handed to the endpoint's workflow (the same `webhook-id`). */
  WEBHOOK_DIRECT_TIMEOUT_MS: positiveInt.default(2_000),
  /** Concurrent webhook calls per webhook worker. */
  WEBHOOK_MAX_CONCURRENT_ACTIVITIES: positiveInt.default(100),
  /**
   * Customers choose webhook URLs, so only public addresses are reached by default (no loopback, private,
   * link-local or other internal ranges). These CIDR ranges are allowed too: `127.0.0.1/32` for local
   * development and tests, a partner's VPN range in production.
   */
  WEBHOOK_ALLOWED_NETWORKS: list,
  /** Refuse plain-http webhook URLs. */
  WEBHOOK_REQUIRE_HTTPS: z.stringbool().default(false),
  /** After a secret rotation, requests carry the old secret's signature too for this long. */
  WEBHOOK_SECRET_GRACE_S: positiveInt.default(24 * 3600),

  /**
   * SMS providers in the order they are tried: the first sends, the next takes over when it fails in a way
   * that may pass (5xx, timeout). Empty: no SMS channel. Each provider's credentials and base URL below.
   */
  SMS_PROVIDERS: list.pipe(z.array(z.enum(['twilio', 'vonage']))),
  /** Longer texts are cut to this many segments (160 GSM-7 / 70 UCS-2 characters each, fewer when joined). */
  SMS_MAX_SEGMENTS: positiveInt.default(3),
  TWILIO_ACCOUNT_SID: z.string().optional(),
  TWILIO_AUTH_TOKEN: z.string().optional(),
  TWILIO_FROM: z.string().optional(),
  TWILIO_BASE_URL: z.url().default('https://api.twilio.com'),
  VONAGE_API_KEY: z.string().optional(),
  VONAGE_API_SECRET: z.string().optional(),
  VONAGE_FROM: z.string().optional(),
  VONAGE_BASE_URL: z.url().default('https://rest.nexmo.com'),
  /** Push providers (`web-push`, `fcm`): each device is reached by the one of its kind. Empty: no push channel. */
  PUSH_PROVIDERS: list.pipe(z.array(z.enum(['web-push', 'fcm']))),
  /** VAPID (RFC 8292): the application server's key pair, base64url, and a contact (`mailto:` or https URL). */
  VAPID_PUBLIC_KEY: z.string().optional(),
  VAPID_PRIVATE_KEY: z.string().optional(),
  VAPID_SUBJECT: z.string().default('mailto:notifications@orderly.local'),
  /** A Firebase service-account key (the JSON itself); its `token_uri` is where access tokens come from. */
  FCM_SERVICE_ACCOUNT_JSON: z.string().optional(),
  FCM_BASE_URL: z.url().default('https://fcm.googleapis.com'),
  /**
   * Requests per second per provider across every worker process (enforced by Temporal on the provider's task
   * queue, not per process), e.g. `twilio=5,vonage=10`; a provider not listed gets PROVIDER_DEFAULT_RATE_PER_S.
   */
  PROVIDER_RATE_LIMITS: list.transform((pairs, context) => {
    const limits: Record<string, number> = {};
    for (const pair of pairs) {
      const [name, rate] = pair.split('=');
      if (!name || !(Number(rate) > 0)) {
        context.addIssue({ code: 'custom', message: `"${pair}" is not <provider>=<requests per second>` });
        return z.NEVER;
      }
      limits[name.trim()] = Number(rate);
    }
    return limits;
  }),
  PROVIDER_DEFAULT_RATE_PER_S: positiveInt.default(50),
  /** Requests in flight to one provider from one worker process. */
  PROVIDER_MAX_CONCURRENT: positiveInt.default(10),
  /**
   * An SMS or push still failing in a way that may pass (every provider down) this long after its first attempt
   * is dead-lettered. Until then the workflow goes round the providers again after a backoff (10 s doubling, at
   * most 5 min), so a provider's outage delays messages instead of dead-lettering them; an hour by default, since
   * a text or push much later than its event is of little use.
   */
  PROVIDER_MAX_AGE_S: positiveInt.default(3600),
  /**
   * Settled notifications' rows (their runs and chain rows, finished deliveries, bounce reports, push progress, webhook
   * message contents) older than this are pruned by the workflow workers in the background; 0 keeps them for ever.
   * 30 days by default. Dead letters, digests, suppressions and the audit trail are kept.
   */
  RETENTION_S: z.coerce
    .number()
    .int()
    .min(0)
    .default(30 * 24 * 3600),
  /** How often a workflow worker prunes (one at a time across workers). */
  RETENTION_PRUNE_EVERY_S: positiveInt.default(3600),
  /** Where Orderly's API is reached from outside: status callbacks and unsubscribe links point here. */
  PUBLIC_BASE_URL: z.url().default('http://127.0.0.1:8080'),

  /** `production` makes missing secrets (below) a start-up error instead of a development default. */
  ORDERLY_ENV: z.enum(['development', 'production']).default('development'),
  /**
   * Keys that encrypt webhook secrets at rest (AES-256-GCM): `<key id>:<base64 of 32 bytes>`, comma-separated.
   * The first encrypts; every one decrypts, so keys rotate by putting a new one first. Required in production.
   */
  SECRETS_ENCRYPTION_KEYS: z.string().default(''),
  /**
   * Keys that sign recipients' links (one-click unsubscribe) as HS256 JWTs: `<key id>:<base64 of 32 bytes>`,
   * comma-separated. The first signs; every one verifies, so keys rotate by putting a new one first and dropping
   * the old one after LINK_TTL_DAYS. Required in production.
   */
  LINK_SIGNING_KEYS: z.string().default(''),
  /**
   * Keys that encrypt every Temporal payload (workflow and activity inputs and results, signals) before it reaches
   * the server, AES-256-GCM: `<key id>:<base64 of 32 bytes>`, comma-separated. The first encrypts; every one decrypts,
   * so keys rotate by putting a new one first and dropping the old one once the namespace's retention has passed.
   * Required in production.
   */
  PAYLOAD_ENCRYPTION_KEYS: z.string().default(''),
  /**
   * The key (base64 of 32 bytes) of the hash under which an erased recipient's address stays on the suppression list
   * (`orderly recipients erase`). Never rotated: erased addresses are matched by it. Required in production.
   */
  ERASURE_HASH_KEY: z.string().default(''),
  /** How long a link in a mail stays valid; RFC 8058 asks that a one-click link keep working a good while. */
  LINK_TTL_DAYS: positiveInt.default(60),

  /** The HTTP API (`src/bin/api.ts`). */
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port.default(8080),
  /** Requests per minute per API key; past it, 429 with Retry-After. */
  API_RATE_LIMIT_PER_MINUTE: positiveInt.default(600),
  /**
   * The load balancers in front of the API (addresses or CIDR ranges): a request from one of them is taken to come
   * from the client its `X-Forwarded-For` names (for the public pages' rate limit and the logs). Empty: nobody.
   */
  API_TRUST_PROXY: list,

  /** Prometheus `/metrics` of this process; each process has its own default port (src/metrics.ts), 0 picks a free one. */
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  /** The Temporal SDK's own metrics, on the workers (per-process default in src/metrics.ts); 0 turns them off. */
  TEMPORAL_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),

  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;

const keyListExample = '"k1:" followed by the base64 of 32 random bytes';

/** Parses the environment; a bad value stops the process with one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const requiredInProduction = {
    SECRETS_ENCRYPTION_KEYS: keyListExample,
    LINK_SIGNING_KEYS: keyListExample,
    PAYLOAD_ENCRYPTION_KEYS: keyListExample,
    ERASURE_HASH_KEY: 'the base64 of 32 random bytes',
  } as const;
  for (const [name, example] of Object.entries(requiredInProduction))
    if (
      result.data.ORDERLY_ENV === 'production' &&
      result.data[name as keyof typeof requiredInProduction].trim() === ''
    )
      throw new Error(`Invalid configuration: ${name} is required when ORDERLY_ENV=production (e.g. ${example}).`);
  return result.data;
}

/** Where the bounce listener takes complaints from feedback loops. */
export const complaintAddress = (config: Config): string =>
  config.BOUNCE_COMPLAINT_ADDRESS ?? `complaints@${config.BOUNCE_DOMAIN}`;

/** Where webhooks may go (see {@link destinationChecks}). */
export function webhookDestinationPolicy(config: Config): DestinationPolicy {
  return { allowedNetworks: config.WEBHOOK_ALLOWED_NETWORKS, requireHttps: config.WEBHOOK_REQUIRE_HTTPS };
}

/** The most a customer's key may ask of an endpoint's policy. */
export function webhookCustomerLimits(config: Config): WebhookCustomerLimits {
  return { maxInFlight: config.WEBHOOK_MAX_IN_FLIGHT_LIMIT, rateLimitPerS: config.WEBHOOK_RATE_LIMIT_PER_S_LIMIT };
}

/** The delivery policy of an endpoint that sets none of its own. */
export function webhookDefaults(config: Config): EndpointPolicy {
  return {
    retryScheduleS: config.WEBHOOK_RETRY_SCHEDULE_S,
    maxAgeS: config.WEBHOOK_MAX_AGE_S,
    ratePerSecond: config.WEBHOOK_RATE_LIMIT_PER_S,
    maxInFlight: config.WEBHOOK_MAX_IN_FLIGHT,
    circuitFailureThreshold: config.WEBHOOK_CIRCUIT_FAILURE_THRESHOLD,
    circuitCooldownS: config.WEBHOOK_CIRCUIT_COOLDOWN_S,
  };
}
