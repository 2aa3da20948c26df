import type { Client } from '@temporalio/client';
import { type DeadLetter, workflowIds } from '../domain.js';
import { deadLetterSignal, deadLettersWorkflow } from '../workflows/dead-letters.js';

/** Hands a failed notification to the long-lived `dead-letters` workflow, starting it if it is not running. */
export function createDeadLetterActivities({ client, taskQueue }: { client: Client; taskQueue: string }) {
  return {
    async reportDeadLetter(deadLetter: DeadLetter): Promise<void> {
      await client.workflow.signalWithStart(deadLettersWorkflow, {
        workflowId: workflowIds.deadLetters,
        taskQueue,
        args: [{ entries: [] }],
        signal: deadLetterSignal,
        signalArgs: [deadLetter],
      });
    },
  };
}
