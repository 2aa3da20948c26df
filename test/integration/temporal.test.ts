import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restart } from '../../stack/lifecycle.js';
import { loadConfig } from '../../src/config.js';
import type { greetingWorkflow, timerWorkflow } from './workflows/probe.js';

const config = loadConfig();
let bundle: WorkflowBundleWithSourceMap;

async function connect(): Promise<{ client: Client; connection: Connection; native: NativeConnection }> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const native = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  return { client: new Client({ connection }), connection, native };
}

function probeWorker(native: NativeConnection, taskQueue: string): Promise<Worker> {
  return Worker.create({
    connection: native,
    taskQueue,
    workflowBundle: bundle,
    activities: { greet: (name: string) => Promise.resolve(`hello, ${name}`) },
  });
}

describe('Temporal dev server', () => {
  beforeAll(async () => {
    bundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./workflows/probe.ts', import.meta.url)),
    });
  });

  it('runs a workflow with one activity and returns its result', async () => {
    const { client, connection, native } = await connect();
    const taskQueue = `probe-${randomUUID()}`;
    const worker = await probeWorker(native, taskQueue);
    const result = await worker.runUntil(
      client.workflow.execute<typeof greetingWorkflow>('greetingWorkflow', {
        taskQueue,
        workflowId: `greeting-${randomUUID()}`,
        args: ['orderly'],
      }),
    );
    expect(result).toBe('hello, orderly');
    await connection.close();
    await native.close();
  });

  it('completes a workflow waiting on a timer after the server is killed and restarted', async () => {
    const taskQueue = `probe-${randomUUID()}`;
    const workflowId = `timer-${randomUUID()}`;
    const before = await connect();
    const worker = await probeWorker(before.native, taskQueue);
    const handle = await before.client.workflow.start<typeof timerWorkflow>('timerWorkflow', {
      taskQueue,
      workflowId,
      args: ['6 seconds'],
    });
    // Run the worker only until the timer is recorded in history, then take everything down.
    await worker.runUntil(async () => {
      for (;;) {
        const history = await handle.fetchHistory();
        if (history.events?.some((event) => event.timerStartedEventAttributes)) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    await before.connection.close();
    await before.native.close();

    await restart('temporal', { kill: true });

    const after = await connect();
    const description = await after.client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
    const resumedWorker = await probeWorker(after.native, taskQueue);
    const result = await resumedWorker.runUntil(
      after.client.workflow.getHandle<typeof timerWorkflow>(workflowId).result(),
    );
    expect(result).toBe('timer fired');
    await after.connection.close();
    await after.native.close();
  });

  afterAll(async () => {
    // Leave the server healthy for the next test file even if a test failed mid-restart.
    await restart('temporal').catch(() => undefined);
  });
});
