import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { inTransaction, jsonColumn } from '../db/pool.js';
import {
  type DeadLetter,
  type DeliveredRecord,
  type DigestContent,
  type OrderEvent,
  type Recipient,
  type TemplateId,
  digestNotificationId,
  notificationKey,
  workflowIds,
} from '../domain.js';
import { type DigestInput, flushDigestSignal, previousDigestSettledSignal } from '../messages.js';
import { digestDetails, digestSummary } from '../summaries.js';
import { searchAttributes } from '../search-attributes.js';

/** A recipient whose event goes into a digest. */
export type DigestRecipient = DigestInput['recipient'];

/** The ledger's writes a digest makes (createLedgerActivities has them). */
interface DigestLedgerWrites {
  recordDelivered(delivery: DeliveredRecord): Promise<void>;
  recordDeadLetter(deadLetter: DeadLetter): Promise<unknown>;
}

/** What closing a digest came to: its events to send, or nothing to send (cancelled, or settled already). */
export type ClosedDigest =
  | {
      kind: 'closed';
      items: number;
      /** The recipient's earlier digests (same key) not settled yet: this one goes after them. */
      ahead?: number;
    }
  | { kind: 'settled'; state: 'delivered' | 'dead_lettered' | 'cancelled' };

/**
 * Digests on MySQL (issue 24): a recipient's digested events are collected into the open digest of their rule's key
 * (`digests`, `digest_items`), each delivery row saying `digested` with the digest's id; the digest's workflow
 * (`digest:<id>`) closes it when its window ends, when it is full or when an operator flushes it, and sends it as one
 * notification of its own (`digest-<id>` in the ledger). Collecting and closing take the open digest's row lock, so
 * an event is in exactly one digest and a closed digest takes no more.
 */
export function createDigestActivities(deps: {
  pool: Pool;
  client: Client;
  taskQueue: string;
  ledger: DigestLedgerWrites;
}) {
  const wakeNext = nextDigestWaker(deps);
  return {
    ...createDigestCollector(deps),
    ...createDigestClosing({ ...deps, wakeNext }),
    ...createDigestOutcomes({ ...deps, wakeNext }),
  };
}

/** How many of the recipient's digests before this one (its key's) have not settled: it is sent after them. */
async function digestsAhead(db: Pick<Pool, 'execute'>, digestId: string): Promise<number> {
  const [rows] = await db.execute<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM digests g JOIN digests d ON d.digest_key = g.digest_key AND d.id < g.id
      WHERE g.id = ? AND d.state IN ('open', 'closed', 'sending')`,
    [digestId],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Tells the recipient's next digest (its key's) that this one has settled, so it need not wait for its next look. */
function nextDigestWaker({ pool, client }: { pool: Pool; client: Client }) {
  return async (digestId: string): Promise<void> => {
    const [rows] = await pool.execute<RowDataPacket[]>(
      `SELECT d.id FROM digests g JOIN digests d ON d.digest_key = g.digest_key AND d.id > g.id
        WHERE g.id = ? ORDER BY d.id LIMIT 1`,
      [digestId],
    );
    if (rows[0] === undefined) return;
    try {
      await client.workflow.getHandle(workflowIds.digest(String(rows[0].id))).signal(previousDigestSettledSignal);
    } catch (error) {
      // It has not started yet (it then finds nothing ahead) or has finished: nobody to wake.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  };
}

/** Collecting: an event into its recipient's open digest, whose workflow it makes sure runs. */
function createDigestCollector({ pool, client, taskQueue }: { pool: Pool; client: Client; taskQueue: string }) {
  /** Starts the digest's workflow, or (full) signals it to send now; nothing when it has finished already. */
  async function ensureWorkflow(input: DigestInput, full: boolean): Promise<void> {
    const options = {
      workflowId: workflowIds.digest(input.digestId),
      taskQueue,
      args: [input] as [DigestInput],
      // A digest is sent once: a retried collect must not start a finished digest's workflow again.
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
      typedSearchAttributes: [
        { key: searchAttributes.customerId, value: input.customerId },
        { key: searchAttributes.digestKey, value: input.recipient.digest.key },
      ],
      staticSummary: digestSummary(input),
      staticDetails: digestDetails(input),
    };
    try {
      if (full) await client.workflow.signalWithStart('digestWorkflow', { ...options, signal: flushDigestSignal });
      else await client.workflow.start('digestWorkflow', options);
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }

  return {
    /**
     * Puts the event into its recipient's open digest (opening one when there is none), marks its delivery `digested`
     * and makes sure the digest's workflow runs. Run again (a retry), it finds the delivery digested and only makes
     * sure again. Returns the digest's id, or undefined when the delivery is no longer to be sent (cancelled).
     */
    async collectIntoDigest({
      event,
      template,
      recipient,
    }: {
      event: OrderEvent;
      template: TemplateId;
      recipient: DigestRecipient;
    }): Promise<string | undefined> {
      const delivery = [notificationKey(event), recipient.userId, recipient.channel, recipient.endpoint?.id ?? 0];
      const collected = await inTransaction(pool, async (tx) => {
        const [rows] = await tx.execute<RowDataPacket[]>(
          `SELECT d.state, d.digest_id, g.state AS digest_state, g.closes_at
             FROM deliveries d LEFT JOIN digests g ON g.id = d.digest_id
            WHERE d.notification_id = ? AND d.user_id = ? AND d.channel = ? AND d.endpoint_id = ? FOR UPDATE`,
          delivery,
        );
        const row = rows[0];
        if (row?.state === 'digested') {
          const full = row.digest_state !== 'open';
          return { digestId: String(row.digest_id), closesAt: (row.closes_at as Date).getTime(), full };
        }
        if (row?.state !== 'pending') return undefined;
        const digest = await openDigest(tx, event.customerId, recipient);
        const position = digest.items + 1;
        await tx.execute(
          'INSERT INTO digest_items (digest_id, position, notification_id, template, event) VALUES (?, ?, ?, ?, ?)',
          [digest.id, position, notificationKey(event), template, JSON.stringify(event)],
        );
        const full = position >= digest.maxItems;
        await tx.execute("UPDATE digests SET items = ?, state = IF(?, 'closed', 'open') WHERE id = ?", [
          position,
          full,
          digest.id,
        ]);
        await tx.execute(
          `UPDATE deliveries SET state = 'digested', digest_id = ?
            WHERE notification_id = ? AND user_id = ? AND channel = ? AND endpoint_id = ?`,
          [digest.id, ...delivery],
        );
        return { digestId: digest.id, closesAt: digest.closesAt, full };
      });
      if (collected === undefined) return undefined;
      const { digestId, closesAt, full } = collected;
      await ensureWorkflow({ digestId, customerId: event.customerId, closesAt, recipient }, full);
      return digestId;
    },
  };
}

/** Closing: no event joins the digest after this; it is sent, or its events are recorded cancelled. */
function createDigestClosing({ pool, wakeNext }: { pool: Pool; wakeNext: (digestId: string) => Promise<void> }) {
  return {
    /** How many of the recipient's earlier digests have not settled yet (the workflow waits while there are any). */
    digestsAhead: (digestId: string) => digestsAhead(pool, digestId),

    /**
     * Closes the digest (no event joins it after this) and records it in the ledger as a notification of its own, to
     * send; or, cancelled, records its events' deliveries as cancelled. A digest closed before is closed again as it is.
     */
    async closeDigest(digestId: string, cancellation?: string): Promise<ClosedDigest> {
      const closed = await inTransaction(pool, async (tx): Promise<ClosedDigest> => {
        const [rows] = await tx.execute<RowDataPacket[]>(
          `SELECT g.*, u.email FROM digests g JOIN users u ON u.id = g.user_id WHERE g.id = ? FOR UPDATE`,
          [digestId],
        );
        const digest = rows[0];
        if (digest === undefined) throw new Error(`there is no digest ${digestId}`);
        const state = String(digest.state);
        if (state === 'delivered' || state === 'dead_lettered' || state === 'cancelled')
          return { kind: 'settled', state };
        if (state === 'open' && cancellation !== undefined) {
          const reason = cancellation.slice(0, 255);
          await tx.execute("UPDATE digests SET state = 'cancelled', reason = ?, settled_at = NOW(6) WHERE id = ?", [
            reason,
            digestId,
          ]);
          await tx.execute(
            "UPDATE deliveries SET state = 'cancelled', reason = ? WHERE digest_id = ? AND state = 'digested'",
            [reason, digestId],
          );
          return { kind: 'settled', state: 'cancelled' };
        }
        await tx.execute("UPDATE digests SET state = 'closed' WHERE id = ? AND state = 'open'", [digestId]);
        const channel = String(digest.channel);
        const endpointId = String(digest.endpoint_id);
        await tx.execute(
          `INSERT IGNORE INTO deliveries (notification_id, event_id, order_id, customer_id, user_id, channel, endpoint_id, recipient, template, state)
           VALUES (?, 0, 0, ?, ?, ?, ?, ?, 'order-digest', 'pending')`,
          [
            digestNotificationId(digestId),
            digest.customer_id,
            digest.user_id,
            channel,
            endpointId,
            channel === 'webhook' ? `webhook endpoint ${endpointId}` : digest.email,
          ],
        );
        return { kind: 'closed', items: Number(digest.items), ahead: await digestsAhead(tx, digestId) };
      });
      if (closed.kind === 'settled') await wakeNext(digestId);
      return closed;
    },
  };
}

/** Settling: what became of a digest's send, in `digests` and in the ledger. */
function createDigestOutcomes({
  pool,
  ledger,
  wakeNext,
}: {
  pool: Pool;
  ledger: DigestLedgerWrites;
  wakeNext: (digestId: string) => Promise<void>;
}) {
  return {
    /** The digest went out: it and its own delivery row say so, with the provider's message id. */
    async recordDigestDelivered(
      digestId: string,
      recipient: Recipient,
      sent: { providerMessageId: string; attempts: number },
    ): Promise<void> {
      await ledger.recordDelivered({
        notificationId: digestNotificationId(digestId),
        userId: recipient.userId,
        channel: recipient.channel,
        ...(recipient.endpoint ? { endpointId: recipient.endpoint.id } : {}),
        ...sent,
      });
      await pool.execute(
        "UPDATE digests SET state = 'delivered', attempts = ?, provider_message_id = ?, settled_at = NOW(6) WHERE id = ?",
        [sent.attempts, sent.providerMessageId, digestId],
      );
      await wakeNext(digestId);
    },

    /**
     * The digest failed for good: each of its events is dead-lettered for its recipient (a redrive collects it into
     * a new digest), and the digest and its own delivery row say why.
     */
    async recordDigestDeadLettered(
      digestId: string,
      recipient: Recipient,
      failure: Pick<DeadLetter, 'errorType' | 'message' | 'attempts'>,
    ): Promise<void> {
      const { items } = await readDigest(pool, digestId);
      const message = `digest ${digestId}: ${failure.message}`;
      const destination = {
        userId: recipient.userId,
        channel: recipient.channel,
        ...(recipient.endpoint ? { endpointId: recipient.endpoint.id } : {}),
      };
      for (const { event } of items)
        await ledger.recordDeadLetter({
          eventId: event.eventId,
          notificationId: notificationKey(event),
          orderId: event.orderId,
          customerId: event.customerId,
          ...destination,
          ...failure,
          message,
          failedAt: new Date().toISOString(),
        });
      await pool.execute(
        `UPDATE deliveries SET state = 'dead_lettered', attempts = ?, last_error = ?
          WHERE notification_id = ? AND user_id = ? AND channel = ? AND endpoint_id = ?`,
        [
          failure.attempts,
          `${failure.errorType}: ${failure.message}`.slice(0, 2000),
          digestNotificationId(digestId),
          recipient.userId,
          recipient.channel,
          recipient.endpoint?.id ?? 0,
        ],
      );
      await pool.execute(
        "UPDATE digests SET state = 'dead_lettered', attempts = ?, reason = ?, settled_at = NOW(6) WHERE id = ?",
        [failure.attempts, `${failure.errorType}: ${failure.message}`.slice(0, 255), digestId],
      );
      await wakeNext(digestId);
    },
  };
}

/** The open digest of the recipient's rule, locked; a new one when there is none (its window starts now). */
async function openDigest(
  tx: PoolConnection,
  customerId: string,
  recipient: DigestRecipient,
): Promise<{ id: string; items: number; maxItems: number; closesAt: number }> {
  const select = () =>
    tx.execute<RowDataPacket[]>('SELECT id, items, max_items, closes_at FROM digests WHERE open_key = ? FOR UPDATE', [
      recipient.digest.key,
    ]);
  let [rows] = await select();
  if (rows[0] === undefined) {
    // Two collectors opening the same key at once: one insert fails on the open key, and its transaction runs again.
    await tx.execute<ResultSetHeader>(
      `INSERT INTO digests (digest_key, customer_id, user_id, channel, endpoint_id, max_items, closes_at)
       VALUES (?, ?, ?, ?, ?, ?, NOW(6) + INTERVAL ? SECOND)`,
      [
        recipient.digest.key,
        customerId,
        recipient.userId,
        recipient.channel,
        recipient.endpoint?.id ?? 0,
        recipient.digest.maxItems,
        recipient.digest.windowS,
      ],
    );
    [rows] = await select();
  }
  const row = rows[0]!;
  return {
    id: String(row.id),
    items: Number(row.items),
    maxItems: Number(row.max_items),
    closesAt: (row.closes_at as Date).getTime(),
  };
}

/** A digest's events, in the order they were collected. */
export async function readDigest(pool: Pool, digestId: string): Promise<DigestContent> {
  const [rows] = await pool.execute<RowDataPacket[]>(
    `SELECT g.customer_id, i.template, i.event FROM digests g JOIN digest_items i ON i.digest_id = g.id
      WHERE g.id = ? ORDER BY i.position`,
    [digestId],
  );
  return {
    digestId,
    customerId: String(rows[0]?.customer_id ?? ''),
    items: rows.map((row) => ({ template: row.template as TemplateId, event: jsonColumn<OrderEvent>(row.event) })),
  };
}
