import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Pool } from 'mysql2/promise';
import { createPushActivities } from '../activities/push.js';
import { createSmsActivities } from '../activities/sms.js';
import { type Config, webhookDestinationPolicy } from '../config.js';
import { taskQueues } from '../domain.js';
import type { SenderMetrics } from '../metrics.js';
import { createFcmProvider } from '../providers/fcm.js';
import { createTwilioProvider } from '../providers/twilio.js';
import type { PushProvider, SmsProvider } from '../providers/types.js';
import { createVonageProvider } from '../providers/vonage.js';
import { createWebPushProvider } from '../providers/web-push.js';
import { destinationChecks } from '../webhook-destination.js';
import { dataConverterOf } from '../payload-codec.js';

/** A setting a configured provider cannot do without: missing, the process stops at start naming it. */
function required(config: Config, name: keyof Config): string {
  const value = config[name];
  if (typeof value !== 'string' || value === '')
    throw new Error(`Invalid configuration: ${name} is required by the configured providers`);
  return value;
}

/**
 * How each provider is built from the configuration. Adding a provider is its file in `src/providers/` and a line
 * here (and its name in the config's SMS_PROVIDERS / PUSH_PROVIDERS enum).
 */
const smsFactories: Record<Config['SMS_PROVIDERS'][number], (config: Config) => SmsProvider> = {
  twilio: (config) =>
    createTwilioProvider({
      accountSid: required(config, 'TWILIO_ACCOUNT_SID'),
      authToken: required(config, 'TWILIO_AUTH_TOKEN'),
      from: required(config, 'TWILIO_FROM'),
      baseUrl: config.TWILIO_BASE_URL,
    }),
  vonage: (config) =>
    createVonageProvider({
      apiKey: required(config, 'VONAGE_API_KEY'),
      apiSecret: required(config, 'VONAGE_API_SECRET'),
      from: required(config, 'VONAGE_FROM'),
      baseUrl: config.VONAGE_BASE_URL,
    }),
};

const pushFactories: Record<Config['PUSH_PROVIDERS'][number], (config: Config) => PushProvider> = {
  'web-push': (config) =>
    createWebPushProvider({
      destinations: destinationChecks(webhookDestinationPolicy(config)),
      vapid: {
        subject: config.VAPID_SUBJECT,
        publicKey: required(config, 'VAPID_PUBLIC_KEY'),
        privateKey: required(config, 'VAPID_PRIVATE_KEY'),
      },
    }),
  fcm: (config) =>
    createFcmProvider({
      serviceAccount: JSON.parse(required(config, 'FCM_SERVICE_ACCOUNT_JSON')) as unknown,
      baseUrl: config.FCM_BASE_URL,
    }),
};

/** Every configured provider, built (and its settings checked) now, so a bad configuration fails at start. */
export function createProviders(config: Config): { sms: SmsProvider[]; push: PushProvider[] } {
  return {
    sms: config.SMS_PROVIDERS.map((name) => smsFactories[name](config)),
    push: config.PUSH_PROVIDERS.map((name) => pushFactories[name](config)),
  };
}

/** Requests per second to `provider` across every worker process. */
export const providerRate = (config: Config, provider: string): number =>
  config.PROVIDER_RATE_LIMITS[provider] ?? config.PROVIDER_DEFAULT_RATE_PER_S;

/** Where a provider posts its delivery receipts: Orderly's API (`/v1/providers/<name>/status`). */
export const statusCallbackUrl = (config: Config, provider: string): string =>
  new URL(`v1/providers/${provider}/status`, config.PUBLIC_BASE_URL.replace(/\/?$/, '/')).href;

export interface ProviderWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  pool: Pool;
  config: Config;
  providers: { sms: SmsProvider[]; push: PushProvider[] };
  metrics?: SenderMetrics;
}

/**
 * One worker per configured provider, on the provider's own task queue. `maxTaskQueueActivitiesPerSecond` is
 * enforced by Temporal for the queue as a whole, so the provider's rate limit holds however many worker processes
 * run; `maxConcurrentActivityTaskExecutions` caps the requests in flight from this process.
 */
export function createProviderWorkers({
  connection,
  namespace,
  pool,
  config,
  providers,
  metrics,
}: ProviderWorkerDeps): Promise<Worker[]> {
  const worker = (name: string, activities: object) =>
    Worker.create({
      dataConverter: dataConverterOf(config),
      connection,
      namespace,
      taskQueue: taskQueues.provider(name),
      activities,
      maxTaskQueueActivitiesPerSecond: providerRate(config, name),
      maxConcurrentActivityTaskExecutions: config.PROVIDER_MAX_CONCURRENT,
    });
  return Promise.all([
    ...providers.sms.map((provider) =>
      worker(
        provider.name,
        createSmsActivities({
          provider,
          pool,
          maxSegments: config.SMS_MAX_SEGMENTS,
          statusCallbackUrl: statusCallbackUrl(config, provider.name),
          metrics,
        }),
      ),
    ),
    ...providers.push.map((provider) => worker(provider.name, createPushActivities({ provider, pool, metrics }))),
  ]);
}
