import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { settleAndWake } from '../order-chain/settle.js';
import { markStarted, predecessorOf } from '../order-chain/store.js';

/**
 * A notification submitted this long ago whose workflow Temporal does not know was never started (its submitter
 * died between the append and the start) or is gone from retention: nothing to wait for. A start takes milliseconds.
 */
const neverStartedAfterS = 30;

/**
 * Whether a notification's predecessor has settled. One not known to have started is looked at again once it would
 * be a phantom (`recheckAfterS`); otherwise only its settled signal, or the long recheck, moves its successor.
 */
export type PredecessorState =
  | { state: 'settled' }
  /** `workflowId`: the one it waits for (absent in results recorded before it was named). */
  | { state: 'running'; workflowId?: string; recheckAfterS?: number };

/**
 * The order of an order's notifications: whether the previous one has settled, and, when one settles, waking
 * the ones that wait for it. `notification_runs` answers first; Temporal only when MySQL cannot (a predecessor
 * that may have been terminated without settling, or never started).
 */
export function createOrderChainActivities({ pool, client }: { pool: Pool; client: Client }) {
  /** Temporal's word on a predecessor MySQL has not seen settle. */
  async function temporalState(workflowId: string, ageS: number | undefined): Promise<PredecessorState> {
    try {
      const { status } = await client.workflow.getHandle(workflowId).describe();
      // Not running and never settled: terminated by hand. Nothing to wait for.
      return status.name === 'RUNNING' ? { state: 'running', workflowId } : { state: 'settled' };
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      // Not started (yet): look again once it is old enough to be called a phantom.
      if (ageS !== undefined && ageS < neverStartedAfterS)
        return { state: 'running', workflowId, recheckAfterS: neverStartedAfterS - ageS + 1 };
      // A phantom: taken out of the chain, so that this notification now waits for the phantom's predecessor.
      await settleAndWake({ pool, client }, workflowId, { abandoned: true });
      return { state: 'running', recheckAfterS: 1 };
    }
  }

  return {
    /**
     * Whether the notification `workflowId` may go: whether its predecessor, as its run records it now, has
     * settled. `askTemporal`: also when MySQL says it has not (a recheck: it may have been terminated, or never
     * started).
     */
    async predecessorState(workflowId: string, { askTemporal }: { askTemporal: boolean }): Promise<PredecessorState> {
      // Looking proves this notification's workflow runs: its own successors need not suspect a phantom.
      await markStarted(pool, workflowId);
      const predecessor = await predecessorOf(pool, workflowId);
      if (predecessor === undefined || predecessor.settled) return { state: 'settled' };
      if (askTemporal) return temporalState(predecessor.workflowId, predecessor.ageS);
      const { workflowId: waitsFor } = predecessor;
      if (predecessor.started) return { state: 'running', workflowId: waitsFor };
      return {
        state: 'running',
        workflowId: waitsFor,
        recheckAfterS: Math.max(1, neverStartedAfterS - (predecessor.ageS ?? 0) + 1),
      };
    },

    /** Records that a notification has settled and signals the notifications waiting for it. */
    settleNotification: (workflowId: string): Promise<void> => settleAndWake({ pool, client }, workflowId),
  };
}
