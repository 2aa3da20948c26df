import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { predecessorSettledSignal } from '../messages.js';
import { abandonRun, settleRun } from './store.js';

/**
 * Settles a notification in its order's chain and wakes the notifications waiting for it: the one place a
 * notification leaves the chain, whether it settled (delivered, suppressed, cancelled, dead-lettered) or was
 * `abandoned` because its workflow could not be started.
 */
export async function settleAndWake(
  { pool, client }: { pool: Pool; client: Client },
  workflowId: string,
  { abandoned = false } = {},
): Promise<void> {
  const successors = abandoned ? await abandonRun(pool, workflowId) : await settleRun(pool, workflowId);
  await Promise.all(
    successors.map((successor) =>
      client.workflow
        .getHandle(successor)
        .signal(predecessorSettledSignal)
        // Not started yet: when it starts, it finds this one settled in MySQL.
        .catch((error: unknown) => {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }),
    ),
  );
}
