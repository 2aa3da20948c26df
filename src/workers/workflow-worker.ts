import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { type InjectedSinks, type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Pool } from 'mysql2/promise';
import { createCompletionActivities } from '../activities/completions.js';
import { createDigestActivities } from '../activities/digests.js';
import { createEmailActivities } from '../activities/email.js';
import { createFirstAttemptActivities } from '../activities/first-attempt.js';
import { createDeliveryClaims, createLedgerActivities, createWebhookMessages } from '../activities/ledger.js';
import { createOrderChainActivities } from '../activities/order-chain.js';
import type { AddressHasher } from '../address-hash.js';
import { createPreferenceActivities } from '../activities/preferences.js';
import { createTemporalActivities } from '../activities/temporal.js';
import type { createDirectWebhooks } from '../activities/webhook.js';
import { type ChannelProviders, type EndpointPolicy, taskQueues, workflowIds } from '../domain.js';
import type { LedgerMetrics } from '../metrics.js';
import type { CircuitState } from '../webhook-policy.js';
import type { OrderlySinks } from '../workflows/sinks.js';
import type { DataConverter } from '@temporalio/common';

/** The workflow code the worker bundles: `.ts` under tsx, `.js` once compiled. */
export const workflowsPath = fileURLToPath(
  new URL(`../workflows/index${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

export interface WorkflowWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  client: Client;
  pool: Pool;
  webhookDefaults: EndpointPolicy;
  /** How the suppression list keeps erased addresses (`ERASURE_HASH_KEY`). */
  hashAddress: AddressHasher;
  /** For the first attempt of every email, which runs here as a local activity (its claims use `pool`). */
  smtp: Omit<Parameters<typeof createEmailActivities>[0], 'claims'>;
  /** For the direct attempt of webhooks to healthy endpoints, also in the first attempt; none when turned off. */
  webhooks?: ReturnType<typeof createDirectWebhooks>;
  /** Where the endpoint workflows' circuit states go (a metric). */
  reportCircuitState: (endpointId: string, state: CircuitState) => void;
  ledgerMetrics?: LedgerMetrics;
  /** The SMS providers (in failover order) and push providers notifications use; none when unset. */
  providers?: ChannelProviders;
  /** A prebuilt bundle (tests bundle once for many workers); otherwise the worker bundles `workflowsPath`. */
  workflowBundle?: WorkflowBundleOption;
  /** Encrypts every payload (`dataConverterOf`): histories hold no recipient's data in the clear. */
  dataConverter: DataConverter;
}

/**
 * Terminates the `dead-letters` workflow of earlier versions if it still runs: its code is gone (the `dead_letters`
 * table is the record, `orderly dlq list` reads it). Called at every start of a workflow worker, so a deploy retires
 * it without a step of its own; true when it was running. Delete with the `deadLettersInTableOnly` patch.
 */
export async function retireDeadLettersWorkflow(client: Client): Promise<boolean> {
  try {
    await client.workflow
      .getHandle(workflowIds.retiredDeadLetters)
      .terminate('retired: the dead_letters table is the record of dead letters (orderly dlq list)');
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** Runs Orderly's workflows (notifications, webhook endpoints) and their local activities. */
export function createWorkflowWorker({
  connection,
  namespace,
  client,
  pool,
  webhookDefaults,
  hashAddress,
  smtp,
  webhooks,
  reportCircuitState,
  ledgerMetrics,
  providers,
  workflowBundle,
  dataConverter,
}: WorkflowWorkerDeps): Promise<Worker> {
  const preferences = createPreferenceActivities({ pool, webhookDefaults, hashAddress });
  const ledger = createLedgerActivities({ pool, metrics: ledgerMetrics });
  const email = createEmailActivities({ ...smtp, claims: createDeliveryClaims({ pool }) });
  const chain = createOrderChainActivities({ pool, client });
  const digests = createDigestActivities({ pool, client, taskQueue: taskQueues.workflows, ledger });
  return Worker.create({
    connection,
    namespace,
    taskQueue: taskQueues.workflows,
    dataConverter,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: {
      ...preferences,
      ...ledger,
      ...createTemporalActivities({
        client,
        taskQueue: taskQueues.workflows,
        webhookMessages: createWebhookMessages({ pool }),
      }),
      ...email,
      ...chain,
      ...digests,
      ...createFirstAttemptActivities({
        chain,
        preferences,
        ledger,
        email,
        webhooks,
        completions: createCompletionActivities({ pool }),
        digests,
        providers,
      }),
    },
    sinks: {
      // Replayed calls too: after a restart, replaying an endpoint's history restores its current state.
      metrics: {
        circuitState: {
          fn: (_info, endpointId, state) => reportCircuitState(endpointId, state),
          callDuringReplay: true,
        },
      },
    } satisfies InjectedSinks<OrderlySinks>,
  });
}
