import type { Pool, RowDataPacket } from 'mysql2/promise';
import { jsonColumn } from '../db/pool.js';
import { BadRequest, NotFound } from './errors.js';
import { type Scope, inScope } from './scope.js';

/** The steps (event types) whose success completes an order of a customer's flow. */
export interface FlowCompletion {
  customerId: string;
  flowId: string;
  steps: string[];
}

/**
 * What completes an order of a flow (seed 002's aggregation): once every step named has succeeded for an order, its
 * subscribers to the flow's successes get one "order complete" notification. Customers manage their own flows'.
 */
export function flowCompletionOperations({ pool }: { pool: Pool }) {
  async function get(customerId: string, flowId: string, scope: Scope): Promise<FlowCompletion> {
    const [rows] = await pool.execute<RowDataPacket[]>(
      'SELECT steps FROM flow_completions WHERE customer_id = ? AND flow_id = ?',
      [customerId, flowId],
    );
    if (rows[0] === undefined || !inScope(scope, customerId))
      throw new NotFound(`flow ${flowId} of customer ${customerId} names no completion`);
    return { customerId, flowId, steps: jsonColumn<string[]>(rows[0].steps) };
  }

  return {
    get,

    /** Names (or renames) the steps; orders already completed stay so. */
    async set(customerId: string, flowId: string, steps: string[], scope: Scope): Promise<FlowCompletion> {
      if (!inScope(scope, customerId)) throw new NotFound(`there is no customer ${customerId}`);
      const [customers] = await pool.execute<RowDataPacket[]>('SELECT 1 FROM customers WHERE id = ?', [customerId]);
      if (customers.length === 0) throw new NotFound(`there is no customer ${customerId}`);
      const named = [...new Set(steps.map((s) => s.trim()).filter(Boolean))];
      if (named.length === 0) throw new BadRequest('name at least one step (an event type, e.g. order.shipped)');
      await pool.execute(
        `INSERT INTO flow_completions (customer_id, flow_id, steps) VALUES (?, ?, ?)
           ON DUPLICATE KEY UPDATE steps = VALUES(steps)`,
        [customerId, flowId, JSON.stringify(named)],
      );
      return get(customerId, flowId, scope);
    },

    async remove(customerId: string, flowId: string, scope: Scope): Promise<void> {
      await get(customerId, flowId, scope);
      await pool.execute('DELETE FROM flow_completions WHERE customer_id = ? AND flow_id = ?', [customerId, flowId]);
    },
  };
}
