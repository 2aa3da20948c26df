import { randomUUID } from 'node:crypto';
import { type Kafka, Partitioners } from 'kafkajs';

export interface ReadMessage {
  partition: number;
  offset: string;
  key: unknown;
  /** The parsed JSON value; `null` for tombstones and values that are not JSON. */
  value: { op?: string; after?: Record<string, unknown> | null } | null;
  raw: Buffer | null;
  headers: Record<string, string>;
}

/** Record timestamps may be the binlog's, to the second: read from a little before the time asked for. */
const timestampSlackMs = 5_000;

/**
 * Reads a topic, from the messages written at `since` (ms) on, with a throwaway consumer group until `done`
 * returns a result for what was read so far, or the time runs out. Not from the beginning: after a
 * benchmark the topic holds hundreds of thousands of messages.
 */
export async function readTopicUntil<T>(
  kafka: Kafka,
  topic: string,
  since: number,
  done: (seen: ReadMessage[]) => T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  const starts = await admin
    .fetchTopicOffsetsByTimestamp(topic, since - timestampSlackMs)
    .finally(() => admin.disconnect());
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const seen: ReadMessage[] = [];
  let result: T | undefined;
  let found!: () => void;
  let timer: NodeJS.Timeout | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    found = resolve;
    timer = setTimeout(
      () =>
        reject(
          new Error(`did not find the expected messages on ${topic} within ${timeoutMs} ms (read ${seen.length})`),
        ),
      timeoutMs,
    );
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        seen.push({
          partition,
          offset: message.offset,
          key: parse(message.key),
          value: parse(message.value) as ReadMessage['value'],
          raw: message.value,
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
        result ??= done(seen);
        if (result !== undefined) found();
        return Promise.resolve();
      },
    });
    for (const { partition, offset } of starts) consumer.seek({ topic, partition, offset });
    await finished;
    return result!;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

function parse(buffer: Buffer | null): unknown {
  if (buffer === null) return null;
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch {
    return null;
  }
}

/** Writes messages to a topic as a producer would (a redelivery, or what no connector would write). */
export async function produce(
  kafka: Kafka,
  topic: string,
  messages: { key: Buffer | string | null; value: Buffer | string | null; partition?: number }[],
): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic, messages });
  await producer.disconnect();
}
