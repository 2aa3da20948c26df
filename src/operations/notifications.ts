import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import type { RowDataPacket } from 'mysql2/promise';
import { workflowIds } from '../domain.js';
import { searchAttributes } from '../search-attributes.js';
import { Conflict } from './errors.js';

export interface DeliveryView {
  userId: string;
  channel: string;
  endpointId: string | null;
  recipient: string | null;
  /** SMS and push: the provider that took it (`twilio`, `vonage`, `web-push`, `fcm`); null for email and webhooks. */
  provider: string | null;
  /** `delivered`; for an SMS, `sent` (the provider accepted it), then `delivered` or `undelivered` by its receipt. */
  state: string;
  reason: string | null;
  attempts: number;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface NotificationView {
  notificationId: string;
  workflowId: string;
  /** The workflow's execution status (RUNNING, COMPLETED, ...), or `unknown` once Temporal no longer keeps it. */
  workflow: string;
  /** The NotificationStatus search attribute: processing, held, delivered, suppressed, dead_lettered, cancelled. */
  state: string | null;
  /** A send that is retrying right now: its attempt number and what failed last. */
  retrying: { activity: string; attempt: number; lastFailure: string | null }[];
  deliveries: DeliveryView[];
}

/** A row of `deliveries`: one recipient of one notification. */
export interface DeliveryRow extends RowDataPacket {
  notification_id: string;
  user_id: string;
  channel: string;
  endpoint_id: string;
  recipient: string | null;
  provider: string | null;
  state: string;
  reason: string | null;
  attempts: number;
  last_error: string | null;
  delivered_at: Date | null;
}

/** A workflow's description, or undefined when Temporal does not know it (never started, or no longer kept). */
async function describe(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/** One notification as operators see it: its workflow's state from Temporal, its recipients from `deliveries`. */
export async function notificationView(
  client: Client,
  notificationId: string,
  rows: DeliveryRow[],
): Promise<NotificationView> {
  const workflowId = workflowIds.notification(notificationId);
  const description = await describe(client, workflowId);
  return {
    notificationId,
    workflowId,
    workflow: description?.status.name ?? 'unknown',
    state: description?.typedSearchAttributes.get(searchAttributes.notificationStatus) ?? null,
    retrying: await Promise.all(
      (description?.raw.pendingActivities ?? [])
        .filter((activity) => (activity.attempt ?? 1) > 1)
        .map(async (activity) => ({
          activity: activity.activityType?.name ?? 'activity',
          attempt: activity.attempt ?? 1,
          // Failures' messages are encrypted with the payloads (src/payload-codec.ts): decoded here, for an operator.
          lastFailure:
            (await decodeOptionalFailureToOptionalError(client.options.loadedDataConverter, activity.lastFailure))
              ?.message ?? null,
        })),
    ),
    deliveries: rows.map((row) => ({
      userId: String(row.user_id),
      channel: row.channel,
      endpointId: String(row.endpoint_id) === '0' ? null : String(row.endpoint_id),
      recipient: row.recipient,
      provider: row.provider ?? null,
      state: row.state,
      reason: row.reason,
      attempts: row.attempts,
      lastError: row.last_error,
      deliveredAt: row.delivered_at?.toISOString() ?? null,
    })),
  };
}

/**
 * The handle of an event's running notification (its insert's; a status change has a notification of its own),
 * to signal it; a notification not started, forgotten or finished is a conflict.
 */
export async function runningNotification(client: Client, eventId: string) {
  const handle = client.workflow.getHandle(workflowIds.notification(eventId));
  const description = await describe(client, handle.workflowId);
  if (description === undefined)
    throw new Conflict(
      `event ${eventId} has no notification workflow (not ingested yet, or no longer kept by Temporal)`,
    );
  if (description.status.name !== 'RUNNING')
    throw new Conflict(
      `the notification of event ${eventId} is already finished (${description.typedSearchAttributes.get(searchAttributes.notificationStatus) ?? description.status.name})`,
    );
  return handle;
}
