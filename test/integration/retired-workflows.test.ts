import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { workflowIds } from '../../src/domain.js';
import { retireDeadLettersWorkflow } from '../../src/workers/workflow-worker.js';
import { dataConverterOf } from '../../src/payload-codec.js';

let connection: Connection;
let client: Client;

beforeAll(async () => {
  connection = await Connection.connect({ address: loadConfig().TEMPORAL_ADDRESS });
  client = new Client({ connection, dataConverter: dataConverterOf(loadConfig()) });
});
afterAll(() => connection.close());

describe('a deploy retires the dead-letters workflow', () => {
  it('terminates one still running from an earlier version, once, with why', async () => {
    // As an earlier version left it: started by a dead letter's signal, waiting for the next one.
    await client.workflow.signalWithStart('deadLettersWorkflow', {
      workflowId: workflowIds.retiredDeadLetters,
      taskQueue: 'orderly-retired-probe',
      args: [{ entries: [] }],
      signal: 'deadLetter',
      signalArgs: [{}],
    });

    expect(await retireDeadLettersWorkflow(client)).toBe(true);
    const description = await client.workflow.getHandle(workflowIds.retiredDeadLetters).describe();
    expect(description.status.name).toBe('TERMINATED');
    expect(await retireDeadLettersWorkflow(client)).toBe(false);
  });
});
