import { proxyActivities, sleep } from '@temporalio/workflow';

const { greet } = proxyActivities<{ greet(name: string): Promise<string> }>({ startToCloseTimeout: '10s' });

/** One activity, its result returned: proves a worker, the server and an activity round-trip. */
export async function greetingWorkflow(name: string): Promise<string> {
  return greet(name);
}

/** Waits on a durable timer: proves timers survive a server restart. */
export async function timerWorkflow(duration: string): Promise<string> {
  await sleep(duration);
  return 'timer fired';
}
