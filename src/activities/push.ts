import { Context } from '@temporalio/activity';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { type OrderEvent, type TemplateId, notificationKey } from '../domain.js';
import type { SenderMetrics } from '../metrics.js';
import { type PushProvider, type PushRegistration, ProviderError, RecipientRejected } from '../providers/types.js';
import { renderPush } from '../templates/text.js';
import { toFailure } from './errors.js';

/** One push notification of one notification to every device of one user of the provider's kind. Ids only. */
export interface SendPushInput {
  event: OrderEvent;
  template: TemplateId;
  userId: string;
  username: string;
}

export type PushOutcome =
  /** At least one device's push service accepted it. */
  | {
      kind: 'delivered';
      provider: string;
      providerMessageId: string;
      devices: number;
      removed: number;
      attempts: number;
    }
  /** No device left to send to: none registered of this kind, or every one gone (and removed). */
  | { kind: 'suppressed'; reason: string; removed: number; attempts: number };

/**
 * What this push has done so far. Devices reached are read from `push_sends`, which every attempt and every retry
 * round shares: no device gets it twice. What was removed is carried in the attempt's heartbeat.
 */
interface Progress {
  sent: string[];
  messageIds: string[];
  removed: string[];
  goneReason?: string;
}

interface RegistrationRow extends RowDataPacket {
  id: number | string;
  endpoint: string | null;
  p256dh: string | null;
  auth: string | null;
  token: string | null;
}

/**
 * Sends push notifications through one provider (its own task queue, so its rate limit holds across workers) to
 * each of the user's registrations of that provider's kind. A registration the push service reports gone (404/410,
 * FCM UNREGISTERED) is deleted; when none is left the delivery is suppressed with that reason. A provider failure
 * that may pass is retried (devices already reached are skipped).
 */
export function createPushActivities({
  provider,
  pool,
  metrics,
}: {
  provider: PushProvider;
  pool: Pool;
  metrics?: SenderMetrics;
}) {
  const labels = { channel: 'push', provider: provider.name };
  return {
    async sendPush(input: SendPushInput): Promise<PushOutcome> {
      const { info } = Context.current();
      const attempts = info.attempt;
      const heartbeat = info.heartbeatDetails as Pick<Progress, 'removed' | 'goneReason'> | undefined;
      const notificationId = notificationKey(input.event);
      const [reached] = await pool.execute<RowDataPacket[]>(
        `SELECT registration_id, provider_message_id FROM push_sends
          WHERE notification_id = ? AND user_id = ? AND provider = ? ORDER BY sent_at`,
        [notificationId, input.userId, provider.name],
      );
      const progress: Progress = {
        removed: [],
        ...heartbeat,
        sent: reached.map((r) => String(r.registration_id)),
        messageIds: reached.map((r) => String(r.provider_message_id)),
      };
      const [rows] = await pool.execute<RegistrationRow[]>(
        'SELECT id, endpoint, p256dh, auth, token FROM push_registrations WHERE user_id = ? AND customer_id = ? AND kind = ? ORDER BY id',
        [input.userId, input.event.customerId, provider.kind],
      );
      const content = renderPush(input.template, input);
      for (const row of rows) {
        const id = String(row.id);
        if (progress.sent.includes(id)) continue;
        try {
          const sent = await provider.send({ registration: registrationOf(provider.kind, row), ...content });
          await pool.execute(
            `INSERT IGNORE INTO push_sends (notification_id, user_id, provider, registration_id, provider_message_id)
             VALUES (?, ?, ?, ?, ?)`,
            [notificationId, input.userId, provider.name, id, sent.messageId.slice(0, 1024)],
          );
          progress.sent.push(id);
          progress.messageIds.push(sent.messageId);
          metrics?.attempts.inc({ ...labels, result: 'sent' });
        } catch (error) {
          if (!(error instanceof ProviderError)) throw error;
          metrics?.attempts.inc({ ...labels, result: error.name });
          if (!(error instanceof RecipientRejected)) throw toFailure(error, [{ attempts, provider: provider.name }]);
          // Gone, or never valid: either way this device cannot receive anything, now or later.
          await pool.execute('DELETE FROM push_registrations WHERE id = ?', [id]);
          progress.removed.push(id);
          progress.goneReason = goneReason(error);
          Context.current().log.info('push registration removed', {
            notificationId,
            userId: input.userId,
            registrationId: id,
            reason: error.message,
          });
        }
        Context.current().heartbeat({ removed: progress.removed, goneReason: progress.goneReason });
      }
      return outcomeOf(input, progress, attempts, provider.name, (s) => metrics?.latency.observe(labels, s));
    },
  };
}

function outcomeOf(
  input: SendPushInput,
  progress: Progress,
  attempts: number,
  provider: string,
  observeLatency: (seconds: number) => void,
): PushOutcome {
  const removed = progress.removed.length;
  if (progress.sent.length === 0) {
    const reason = progress.goneReason ?? `no ${provider} push registration`;
    return { kind: 'suppressed', reason, removed, attempts };
  }
  observeLatency((Date.now() - Date.parse(input.event.occurredAt)) / 1000);
  return {
    kind: 'delivered',
    provider,
    // The column holds one id; the first device's names the delivery, the count says how many more.
    providerMessageId: progress.messageIds[0]!.slice(0, 255),
    devices: progress.sent.length,
    removed,
    attempts,
  };
}

/** Why a device's delivery stopped: the push service's own word, e.g. "push subscription expired (410)". */
function goneReason(error: RecipientRejected): string {
  const what =
    error.code === 'UNREGISTERED'
      ? 'unregistered (UNREGISTERED)'
      : error.status === 410
        ? 'expired (410)'
        : error.status === 404
          ? 'unknown (404)'
          : `rejected (${error.code})`;
  return `push subscription ${what} at ${error.provider}: registration removed`.slice(0, 255);
}

function registrationOf(kind: PushProvider['kind'], row: RegistrationRow): PushRegistration {
  if (kind === 'fcm') return { kind, token: row.token ?? '' };
  return {
    kind,
    subscription: { endpoint: row.endpoint ?? '', keys: { p256dh: row.p256dh ?? '', auth: row.auth ?? '' } },
  };
}
