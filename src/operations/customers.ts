import type { Client } from '@temporalio/client';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { resumeSignal } from '../messages.js';
import { NotFound, requireId } from './errors.js';

/**
 * Holding a customer: its notifications wait in their workflows (durably, the order's next events behind
 * them) until it is resumed. The hold is a row in `customer_holds`, read with every audience lookup.
 */
export function customerOperations({ pool, client }: { pool: Pool; client: Client }) {
  async function ensureCustomer(customerId: string): Promise<void> {
    requireId('customer', customerId);
    const [rows] = await pool.execute<RowDataPacket[]>('SELECT 1 FROM customers WHERE id = ?', [customerId]);
    if (rows.length === 0) throw new NotFound(`there is no customer ${customerId}`);
  }

  return {
    async pause(customerId: string, reason?: string): Promise<void> {
      await ensureCustomer(customerId);
      await pool.execute(
        'INSERT INTO customer_holds (customer_id, reason) VALUES (?, ?) ON DUPLICATE KEY UPDATE reason = VALUES(reason)',
        [customerId, reason ?? null],
      );
    },

    /** Lifts the hold and wakes the held notifications (they also look again every 15 minutes on their own). */
    async resume(customerId: string): Promise<{ released: number }> {
      await ensureCustomer(customerId);
      await pool.execute('DELETE FROM customer_holds WHERE customer_id = ?', [customerId]);
      let released = 0;
      const query = `CustomerId = "${customerId}" AND NotificationStatus = "held" AND ExecutionStatus = "Running"`;
      for await (const workflow of client.workflow.list({ query })) {
        await client.workflow.getHandle(workflow.workflowId, workflow.runId).signal(resumeSignal);
        released++;
      }
      return { released };
    },
  };
}
