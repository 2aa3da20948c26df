import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Pool } from 'mysql2/promise';
import { createLedgerActivities } from '../activities/ledger.js';
import { createPreferenceActivities } from '../activities/preferences.js';
import { createTemporalActivities } from '../activities/temporal.js';
import { type EndpointPolicy, taskQueues } from '../domain.js';

/** The workflow code the worker bundles: `.ts` under tsx, `.js` once compiled. */
export const workflowsPath = fileURLToPath(new URL(`../workflows/index${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export interface WorkflowWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  client: Client;
  pool: Pool;
  webhookDefaults: EndpointPolicy;
  /** A prebuilt bundle (tests bundle once for many workers); otherwise the worker bundles `workflowsPath`. */
  workflowBundle?: WorkflowBundleOption;
}

/** Runs Orderly's workflows (order, notification, dead letters, webhook endpoints) and their local activities. */
export function createWorkflowWorker({ connection, namespace, client, pool, webhookDefaults, workflowBundle }: WorkflowWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue: taskQueues.workflows,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: {
      ...createPreferenceActivities({ pool, webhookDefaults }),
      ...createLedgerActivities({ pool }),
      ...createTemporalActivities({ client, taskQueue: taskQueues.workflows }),
    },
  });
}
