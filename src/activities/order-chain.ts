import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { settleAndWake } from '../order-chain/settle.js';
import { runState } from '../order-chain/store.js';

/**
 * A notification submitted this long ago whose workflow Temporal does not know was never started (its submitter
 * died between the append and the start) or is gone from retention: nothing to wait for. A start takes milliseconds.
 */
export const neverStartedAfterS = 30;

/** Whether a notification's predecessor has settled; a young one Temporal does not know yet is looked at again soon. */
export type PredecessorState = { state: 'settled' } | { state: 'running'; recheckAfterS?: number };

/**
 * The order of an order's notifications: whether the previous one has settled, and, when one settles, waking
 * the ones that wait for it. `notification_runs` answers first; Temporal only when MySQL cannot (a predecessor
 * that may have been terminated without settling, or never started).
 */
export function createOrderChainActivities({ pool, client }: { pool: Pool; client: Client }) {
  async function temporalState(workflowId: string, ageS: number | undefined): Promise<PredecessorState> {
    const settled = { state: 'settled' } as const;
    try {
      const { status } = await client.workflow.getHandle(workflowId).describe();
      return status.name === 'RUNNING' ? { state: 'running' } : settled;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      // Not started (yet): a phantom once it is old enough, so look again then rather than at the usual recheck.
      return ageS !== undefined && ageS < neverStartedAfterS
        ? { state: 'running', recheckAfterS: neverStartedAfterS - ageS + 1 }
        : settled;
    }
  }

  return {
    /** `askTemporal`: also when MySQL says it has not settled (a recheck, in case it was terminated). */
    async predecessorState(workflowId: string, { askTemporal }: { askTemporal: boolean }): Promise<PredecessorState> {
      const run = await runState(pool, workflowId);
      if (run?.settled) return { state: 'settled' };
      if (run !== undefined && !askTemporal) return { state: 'running' };
      return temporalState(workflowId, run?.ageS);
    },

    /** Records that a notification has settled and signals the notifications waiting for it. */
    settleNotification: (workflowId: string): Promise<void> => settleAndWake({ pool, client }, workflowId),
  };
}
