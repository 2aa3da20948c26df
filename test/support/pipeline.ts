import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll } from 'vitest';
import { type OrderlyProcess, startPipeline, stopAll } from '../../scripts/orderly-processes.js';
import { type SampleUser, sample } from '../../scripts/sample-data.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { dataConverterOf } from '../../src/payload-codec.js';

/** Orderly's three processes and a MySQL pool for the tests of one file: started before them, stopped after. */
export function usePipeline(env: NodeJS.ProcessEnv = {}): { pool: Pool } {
  const context = {} as { pool: Pool };
  let processes: OrderlyProcess[] = [];
  beforeAll(async () => {
    context.pool = createPool(loadConfig());
    processes = await startPipeline(env);
  });
  afterAll(async () => {
    await stopAll(processes);
    await context.pool.end();
  });
  return context;
}

/** A new customer with one order and one user subscribed to every event of every flow. */
export async function subscribedCustomer(
  pool: Pool,
  username = 'Margaret',
  email: string | null = `margaret.${randomUUID()}@example.test`,
): Promise<{ customerId: string; orderId: string; user: SampleUser }> {
  const customerId = await sample.customer(pool, `Test ${randomUUID()}`);
  const user = await sample.user(pool, customerId, username, email);
  await sample.subscription(pool, user.id);
  const orderId = await sample.order(pool, customerId);
  return { customerId, orderId, user };
}

/** A Temporal client for the tests of one file: connected before them, closed after. */
export function useTemporalClient(): { client: Client } {
  const context = {} as { client: Client };
  let connection: Connection | undefined;
  beforeAll(async () => {
    connection = await Connection.connect({ address: loadConfig().TEMPORAL_ADDRESS });
    context.client = new Client({ connection, dataConverter: dataConverterOf(loadConfig()) });
  });
  afterAll(async () => {
    await connection?.close();
  });
  return context;
}
