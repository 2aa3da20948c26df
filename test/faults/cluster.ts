import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { connectWorkerName, connectorStatus } from '../../stack/components/connect.js';
import type { ComponentName } from '../../stack/components/index.js';
import { kafkaNodeName } from '../../stack/components/kafka.js';
import type { StackSettings } from '../../stack/local-settings.js';

/**
 * The broker leading the CDC topic's busiest partition (the one holding the most messages), as the brokers' metadata
 * says now: the one whose death moves the most traffic.
 */
export async function busiestPartitionLeader(
  settings: StackSettings,
): Promise<{ component: ComponentName; partition: number; messages: number }> {
  const admin = new Kafka({ brokers: settings.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(settings.eventsTopic);
    const busiest = offsets.reduce((a, b) => (Number(b.high) - Number(b.low) > Number(a.high) - Number(a.low) ? b : a));
    const metadata = await admin.fetchTopicMetadata({ topics: [settings.eventsTopic] });
    const leader = metadata.topics[0]!.partitions.find((p) => p.partitionId === busiest.partition)!.leader;
    const node = settings.kafkaNodes.find((n) => n.id === leader);
    if (node === undefined) throw new Error(`partition ${busiest.partition} has no leader among the stack's brokers`);
    return {
      component: kafkaNodeName(settings, node),
      partition: busiest.partition,
      messages: Number(busiest.high) - Number(busiest.low),
    };
  } finally {
    await admin.disconnect();
  }
}

/** Where the connector's task runs, asking each worker until one answers: its component and its REST port. */
export async function connectTaskWorker(settings: StackSettings): Promise<{ component: ComponentName; port: number }> {
  for (const port of settings.connectPorts) {
    const status = await connectorStatus(`http://127.0.0.1:${port}`).catch(() => undefined);
    const task = status?.tasks[0];
    if (task?.state !== 'RUNNING') continue;
    const runningOn = Number(task.worker_id.split(':').at(-1));
    const index = settings.connectPorts.indexOf(runningOn);
    if (index >= 0) return { component: connectWorkerName(settings, index), port: runningOn };
  }
  throw new Error('no Connect worker reports the connector task RUNNING');
}

/** Waits until the connector task runs on a worker other than `from`; returns how long that took, in seconds. */
export async function taskMovedFrom(settings: StackSettings, from: ComponentName, limitMs = 90_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    const now = await connectTaskWorker(settings).catch(() => undefined);
    if (now !== undefined && now.component !== from) return Math.round((Date.now() - started) / 100) / 10;
    await sleep(500);
  }
  throw new Error(`the connector task did not leave ${from} within ${limitMs / 1000} s`);
}
