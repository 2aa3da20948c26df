/**
 * The benchmark's plain-consumer baseline (the usual shape of a notifier: consume, look up, send): reads the same CDC topic with
 * kafkajs, looks up the subscriptions, renders the same templates and sends through the same SMTP pool, with
 * no Temporal and no ledger. Each order's events go in offset order (one lane per key, as in the ingest).
 * Whatever Orderly costs beyond this is the price of its durability. Prints `ready` once it has joined its group.
 *
 *   tsx bench/baseline.ts        (configured like Orderly's processes, from the environment)
 */
import '../src/bin/production.js';
import { randomUUID } from 'node:crypto';
import { type KafkaMessage, Kafka, logLevel } from 'kafkajs';
import { renderEmail } from '../emails/index.js';
import { createAddressHasher } from '../src/address-hash.js';
import { createPreferenceActivities } from '../src/activities/preferences.js';
import { loadConfig, webhookDefaults } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { classify } from '../src/domain.js';
import { interpretChangeEvent } from '../src/ingest/change-event.js';
import { preferencesUrl } from '../src/recipient-links.js';
import { createSmtpTransport } from '../src/workers/email-worker.js';

const config = loadConfig();
const pool = createPool(config);
const transport = createSmtpTransport(config);
const preferences = createPreferenceActivities({
  pool,
  webhookDefaults: webhookDefaults(config),
  hashAddress: createAddressHasher(config.ERASURE_HASH_KEY),
});
const kafka = new Kafka({ clientId: 'bench-baseline', brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN });
// A group of its own that starts at the end of the topic: it reads only what the benchmark writes from now on.
const consumer = kafka.consumer({ groupId: `bench-baseline-${randomUUID()}`, maxWaitTimeInMs: 100 });

async function notify(message: KafkaMessage): Promise<void> {
  const decision = interpretChangeEvent(message.value);
  if (decision.kind === 'skip') return;
  const { event } = decision;
  const audience = await preferences.findAudience(event);
  await Promise.all(
    audience.recipients.map(async (recipient) => {
      if (recipient.email === null) return;
      // Like every mail, a preference link in the footer; the baseline signs no tokens (nor List-Unsubscribe).
      const footerLink = preferencesUrl(config.PUBLIC_BASE_URL, 'baseline');
      const rendered = await renderEmail(classify(event), {
        event,
        username: recipient.username,
        preferencesUrl: footerLink,
      });
      await transport.sendMail({
        from: config.MAIL_FROM,
        to: recipient.email,
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        headers: { 'X-Orderly-Event-Id': event.eventId, 'X-Orderly-Order-Id': event.orderId },
      });
    }),
  );
}

consumer.on(consumer.events.GROUP_JOIN, () => console.log('ready'));
await consumer.connect();
await consumer.subscribe({ topic: config.KAFKA_EVENTS_TOPIC, fromBeginning: false });
await consumer.run({
  partitionsConsumedConcurrently: config.KAFKA_PARTITIONS_CONCURRENTLY,
  eachBatch: async (payload) => {
    const { batch } = payload;
    const lanes = new Map<string, KafkaMessage[]>();
    for (const message of batch.messages) {
      const key = message.key?.toString('utf8') ?? '';
      lanes.set(key, [...(lanes.get(key) ?? []), message]);
    }
    await Promise.all(
      [...lanes.values()].map(async (lane) => {
        for (const message of lane) await notify(message);
      }),
    );
    await payload.heartbeat();
  },
});

process.once('SIGTERM', () => {
  void consumer
    .disconnect()
    .then(() => pool.end())
    .then(() => transport.close())
    .finally(() => process.exit(0));
});
