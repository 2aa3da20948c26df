import { randomUUID } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { abandonRun, appendToChain, predecessorOf, settleRun } from '../../src/order-chain/store.js';
import { createPool } from '../../src/db/pool.js';

let pool: Pool;
beforeAll(() => {
  pool = createPool(loadConfig());
});
afterAll(async () => {
  await pool.end();
});

/** An order id no other test uses (the chain does not check that the order exists). */
const freshOrderId = () => String(8_000_000_000 + Math.floor(Math.random() * 1_000_000_000));

describe('notification chain (MySQL)', () => {
  it('links notifications submitted at once by many submitters into one chain, each after exactly one other', async () => {
    const orderId = freshOrderId();
    const ids = Array.from({ length: 40 }, () => `notification:test-${randomUUID()}`);
    const predecessors = await Promise.all(ids.map((id) => appendToChain(pool, orderId, id)));

    // One first notification; every other follows one that was submitted, and no two follow the same one.
    expect(predecessors.filter((p) => p === undefined)).toHaveLength(1);
    const followed = predecessors.filter((p): p is string => p !== undefined);
    expect(new Set(followed).size).toBe(followed.length);
    for (const p of followed) expect(ids).toContain(p);
    // Walking back from the end visits every notification once: a single chain, no cycle.
    const after = new Map(ids.map((id, i) => [id, predecessors[i]]));
    const walked = [];
    for (
      let id: string | undefined = ids.find((candidate) => !followed.includes(candidate));
      id !== undefined;
      id = after.get(id)
    )
      walked.push(id);
    expect(walked.sort()).toEqual([...ids].sort());
  });

  it('gives a retried submission the same predecessor again', async () => {
    const orderId = freshOrderId();
    const [first, second] = [`notification:test-${randomUUID()}`, `notification:test-${randomUUID()}`];
    expect(await appendToChain(pool, orderId, first)).toBeUndefined();
    expect(await appendToChain(pool, orderId, second)).toBe(first);
    expect(await appendToChain(pool, orderId, second)).toBe(first);
  });

  it('leaves the chain as it is when a notification that is no longer its end is appended again (a redelivery)', async () => {
    const orderId = freshOrderId();
    const [x, y, z] = [1, 2, 3].map(() => `notification:test-${randomUUID()}`) as [string, string, string];
    expect(await appendToChain(pool, orderId, x)).toBeUndefined();
    expect(await appendToChain(pool, orderId, y)).toBe(x);
    // X redelivered (its submitter died before its Kafka offset committed): it keeps its place, Y stays the end.
    expect(await appendToChain(pool, orderId, x)).toBeUndefined();
    expect(await appendToChain(pool, orderId, z)).toBe(y);
  });

  it('takes a notification never started out of the chain: its successor follows its predecessor, and it goes to the end when submitted again', async () => {
    const orderId = freshOrderId();
    const [w, x, y] = [1, 2, 3].map(() => `notification:test-${randomUUID()}`) as [string, string, string];
    await appendToChain(pool, orderId, w);
    expect(await appendToChain(pool, orderId, x)).toBe(w);
    expect(await appendToChain(pool, orderId, y)).toBe(x);
    expect(await abandonRun(pool, x)).toEqual([y]);
    // Y now waits for W, which has not settled: X's abandonment released nobody ahead of W.
    expect(await predecessorOf(pool, y)).toMatchObject({ workflowId: w, settled: false });
    // Submitted again (the start is retried): a new place at the end, behind Y.
    expect(await appendToChain(pool, orderId, x)).toBe(y);
    expect(await predecessorOf(pool, x)).toMatchObject({ workflowId: y, settled: false });
  });

  it("moves the chain's end back when the notification never started was the end", async () => {
    const orderId = freshOrderId();
    const [w, x, z] = [1, 2, 3].map(() => `notification:test-${randomUUID()}`) as [string, string, string];
    await appendToChain(pool, orderId, w);
    await appendToChain(pool, orderId, x);
    expect(await abandonRun(pool, x)).toEqual([]);
    expect(await appendToChain(pool, orderId, z)).toBe(w);
  });

  it('settles a notification once and names the notifications waiting for it', async () => {
    const orderId = freshOrderId();
    const [first, second] = [`notification:test-${randomUUID()}`, `notification:test-${randomUUID()}`];
    await appendToChain(pool, orderId, first);
    await appendToChain(pool, orderId, second);
    expect(await predecessorOf(pool, second)).toMatchObject({ workflowId: first, settled: false });
    expect(await settleRun(pool, first)).toEqual([second]);
    expect(await predecessorOf(pool, second)).toMatchObject({ workflowId: first, settled: true });
    expect(await predecessorOf(pool, first)).toBeUndefined();
  });
});
