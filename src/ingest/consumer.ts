import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import {
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { Pool } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { submitOrderEvent } from '../order-chain/submit.js';
import type { OrderEvent } from '../domain.js';
import type { IngestMetrics } from '../metrics.js';
import { interpretChangeEvent } from './change-event.js';
import { MalformedChangeEvent, RejectedForGood, rejectedForGood } from './errors.js';

export interface IngestCounts {
  accepted: number;
  skipped: Record<string, number>;
  deadLettered: number;
}

export interface Ingest {
  start(): Promise<void>;
  stop(): Promise<void>;
  counts: IngestCounts;
}

/** Messages handed to Temporal between two offset commits; bounds re-signalling after a crash. */
const chunkSize = 200;

/**
 * The Kafka consumer group that turns Debezium change events into signals on per-order workflows.
 * Within a partition, messages of one key (one order) are handed over strictly in offset order; different
 * orders in the same batch go concurrently. An offset is resolved only once every message up to it was
 * accepted by Temporal (or skipped, or dead-lettered to the DLQ topic), so a crash re-delivers, never loses.
 */
export function createIngest({
  kafka,
  client,
  pool,
  config,
  log,
  metrics,
}: {
  kafka: Kafka;
  client: Client;
  pool: Pool;
  config: Config;
  log: Logger;
  metrics?: IngestMetrics;
}): Ingest {
  const counts: IngestCounts = { accepted: 0, skipped: {}, deadLettered: 0 };
  let stopping = false;
  const isStopping = () => stopping;
  const deadLetters = createDeadLetterTopic({ kafka, config, log, metrics, counts });
  const handOver = createHandOver({ client, pool, log, metrics, counts, isStopping });
  const eachBatch = createBatchHandler({ handOver, deadLetters, metrics, counts });
  const consumer = createSelfHealingConsumer({ kafka, config, log, eachBatch, isStopping });

  return {
    counts,
    async start() {
      await deadLetters.connect();
      await consumer.run();
    },
    async stop() {
      stopping = true;
      // disconnect() waits for the running batch, commits what was resolved, then leaves the group.
      await consumer.disconnect();
      await deadLetters.disconnect();
    },
  };
}

/**
 * The consumer group member, replaced by a new one when it crashes on an error kafkajs does not retry itself.
 * `run` resolves once the first one runs.
 */
function createSelfHealingConsumer({
  kafka,
  config,
  log,
  eachBatch,
  isStopping,
}: {
  kafka: Kafka;
  config: Config;
  log: Logger;
  eachBatch: (payload: EachBatchPayload) => Promise<void>;
  isStopping: () => boolean;
}) {
  let consumer: Consumer | undefined;

  async function runConsumer(): Promise<void> {
    const next = kafka.consumer({ groupId: config.KAFKA_GROUP_ID, maxWaitTimeInMs: 100 });
    next.on(next.events.CRASH, ({ payload }) => {
      // kafkajs restarts itself after retriable errors only. Others (e.g. "Failed to find group coordinator"
      // while the broker restarts) leave it disconnected for good: a live process consuming nothing.
      if (payload.restart || isStopping()) return;
      log.error(
        { err: payload.error },
        'Kafka consumer stopped on an error kafkajs does not retry; starting a new one',
      );
      void restartConsumer();
    });
    try {
      await next.connect();
      // A new group starts from the beginning: nothing published before the ingest first ran is lost;
      // redeliveries are dropped by the order workflow and the deliveries ledger.
      await next.subscribe({ topic: config.KAFKA_EVENTS_TOPIC, fromBeginning: true });
      await next.run({
        eachBatchAutoResolve: false,
        autoCommit: true,
        partitionsConsumedConcurrently: config.KAFKA_PARTITIONS_CONCURRENTLY,
        eachBatch,
      });
    } catch (error) {
      await next.disconnect().catch(() => undefined);
      throw error;
    }
    consumer = next;
  }

  /** Replaces a crashed consumer, retrying with backoff until Kafka answers again (or the ingest stops). */
  async function restartConsumer(): Promise<void> {
    for (let attempt = 1; !isStopping(); attempt++) {
      await sleep(Math.min(1_000 * attempt, 10_000));
      if (isStopping()) return;
      try {
        await runConsumer();
        log.info({ attempt }, 'Kafka consumer running again');
        return;
      } catch (error) {
        log.warn({ err: error, attempt }, 'Kafka consumer could not start yet; retrying');
      }
    }
  }

  return {
    run: runConsumer,
    disconnect: async () => consumer?.disconnect(),
  };
}

interface IngestParts {
  log: Logger;
  metrics?: IngestMetrics;
  /** Shared with the ingest: every part counts what it did. */
  counts: IngestCounts;
}

/** The dead-letter topic: a message that can never be processed goes there with its original bytes and the reason. */
function createDeadLetterTopic({
  kafka,
  config,
  log,
  metrics,
  counts,
}: IngestParts & { kafka: Kafka; config: Config }) {
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(message: KafkaMessage, partition: number, reason: string): Promise<void> {
      await producer.send({
        topic: config.KAFKA_DEAD_LETTER_TOPIC,
        messages: [
          {
            key: message.key,
            value: message.value,
            headers: {
              'orderly-reason': reason,
              'orderly-source-topic': config.KAFKA_EVENTS_TOPIC,
              'orderly-source-partition': String(partition),
              'orderly-source-offset': message.offset,
            },
          },
        ],
      });
      counts.deadLettered++;
      metrics?.messages.inc({ outcome: 'dead_lettered', reason: '' });
      log.error(
        { partition, offset: message.offset, reason },
        'message can never be processed; sent to the dead-letter topic',
      );
    },
  };
}

/**
 * Hands an event to Temporal, retrying until it accepts: an outage holds the partition rather than dropping or
 * dead-lettering. An event refused for good (`RejectedForGood`) is not retried: the caller dead-letters it.
 */
function createHandOver({
  client,
  pool,
  log,
  metrics,
  counts,
  isStopping,
}: IngestParts & { client: Client; pool: Pool; isStopping: () => boolean }) {
  return async function handOver(event: OrderEvent, payload: EachBatchPayload): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await submitOrderEvent({ client, pool }, event);
        counts.accepted++;
        metrics?.messages.inc({ outcome: 'accepted', reason: '' });
        return;
      } catch (error) {
        const refused = rejectedForGood(error);
        if (refused !== undefined) throw refused;
        if (isStopping() || !payload.isRunning() || payload.isStale()) throw error;
        log.warn(
          { err: error, eventId: event.eventId, orderId: event.orderId, attempt },
          'Temporal did not accept the event; retrying',
        );
        await payload.heartbeat();
        await sleep(Math.min(500 * attempt, 5_000));
      }
    }
  };
}

/**
 * Runs each lane's messages in order, lanes side by side. A lane that fails stops the others at their next message,
 * and the failure is thrown only once none is still running: kafkajs retries the batch from its last resolved offset,
 * and a lane of the failed run still submitting beside the retry would hand the same order's events over twice at once.
 */
export async function runLanes<T>(lanes: T[][], handle: (message: T) => Promise<void>): Promise<void> {
  let failed = false;
  const results = await Promise.allSettled(
    lanes.map(async (lane) => {
      for (const message of lane) {
        if (failed) return;
        try {
          await handle(message);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    }),
  );
  const failure = results.find((result) => result.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

/**
 * Each batch: messages decided one by one (notify, skip, dead-letter), one lane per key so each order's events go
 * in offset order while lanes run side by side; offsets resolved and committed a chunk at a time.
 */
function createBatchHandler({
  handOver,
  deadLetters,
  metrics,
  counts,
}: Omit<IngestParts, 'log'> & {
  handOver: ReturnType<typeof createHandOver>;
  deadLetters: ReturnType<typeof createDeadLetterTopic>;
}) {
  async function handleMessage(message: KafkaMessage, payload: EachBatchPayload): Promise<void> {
    let decision;
    try {
      decision = interpretChangeEvent(message.value);
    } catch (error) {
      if (!(error instanceof MalformedChangeEvent)) throw error;
      await deadLetters.send(message, payload.batch.partition, error.message);
      return;
    }
    if (decision.kind === 'skip') {
      counts.skipped[decision.reason] = (counts.skipped[decision.reason] ?? 0) + 1;
      metrics?.messages.inc({ outcome: 'skipped', reason: decision.reason });
      return;
    }
    try {
      await handOver(decision.event, payload);
    } catch (error) {
      if (!(error instanceof RejectedForGood)) throw error;
      await deadLetters.send(message, payload.batch.partition, `rejected for good: ${error.message}`);
    }
  }

  return async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    metrics?.lag.set({ partition: String(batch.partition) }, Number(batch.offsetLag()));
    for (let start = 0; start < batch.messages.length; start += chunkSize) {
      if (!payload.isRunning() || payload.isStale()) return;
      const chunk = batch.messages.slice(start, start + chunkSize);
      // One lane per key keeps each order's events in offset order; lanes run side by side.
      const lanes = new Map<string, KafkaMessage[]>();
      for (const message of chunk) {
        const key = message.key?.toString('utf8') ?? '';
        lanes.set(key, [...(lanes.get(key) ?? []), message]);
      }
      await runLanes([...lanes.values()], (message) => handleMessage(message, payload));
      payload.resolveOffset(chunk[chunk.length - 1]!.offset);
      await payload.commitOffsetsIfNecessary();
      await payload.heartbeat();
    }
  };
}
