import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';

export interface ReadMessage {
  partition: number;
  offset: string;
  key: unknown;
  /** The parsed JSON value; `null` for tombstones and values that are not JSON. */
  value: { op?: string; after?: Record<string, unknown> | null } | null;
  raw: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning with a throwaway consumer group until `done` returns a result for what
 * was read so far, or the time runs out.
 */
export async function readTopicUntil<T>(kafka: Kafka, topic: string, done: (seen: ReadMessage[]) => T | undefined, timeoutMs = 60_000): Promise<T> {
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const seen: ReadMessage[] = [];
  let result: T | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const finished = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`did not find the expected messages on ${topic} within ${timeoutMs} ms (read ${seen.length})`)), timeoutMs);
      void consumer.run({
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
          if (result !== undefined) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
    await finished;
    return result!;
  } finally {
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
