import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10s' });

/** The ceiling workflow: one no-op activity, the least a workflow with real work can cost. */
export async function noopWorkflow(): Promise<void> {
  await noop();
}
