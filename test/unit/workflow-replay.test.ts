import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { dataConverterOf } from '../../src/payload-codec.js';
import { workflowsPath } from '../../src/workers/workflow-worker.js';

const historiesDir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

Runtime.install({ logger: new DefaultLogger('WARN') });

describe('workflow replay', () => {
  it("replays every saved history with today's workflow code (a change that breaks running workflows fails here)", async () => {
    const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
    const files = readdirSync(historiesDir).filter((file) => file.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    const histories = files.map((file) => ({
      workflowId: file,
      history: JSON.parse(readFileSync(join(historiesDir, file), 'utf8')) as object,
    }));
    const results = [];
    // Histories saved since payloads are encrypted decode with the local stack's (development) key; older ones are plain.
    const dataConverter = dataConverterOf({ PAYLOAD_ENCRYPTION_KEYS: '' });
    for await (const result of Worker.runReplayHistories({ workflowBundle, dataConverter }, histories))
      results.push(result);
    expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error?.message }))).toEqual(
      files.map((workflowId) => ({ workflowId, error: undefined })),
    );
  }, 60_000);
});
