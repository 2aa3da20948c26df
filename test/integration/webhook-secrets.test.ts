import { randomUUID } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { loadConfig } from '../../src/config.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { createSecretBox } from '../../src/secrets.js';

describe('webhook secrets written in the clear (MySQL)', () => {
  it('are sealed in place by the migration step, and open to the same secret', async () => {
    const config = loadConfig();
    const pool = createPool(config);
    const connection = await pool.getConnection();
    try {
      const customerId = await sample.customer(pool, `Secrets ${randomUUID()}`);
      const endpoint = await sample.webhookEndpoint(pool, customerId, 'https://example.com/hook');
      // The key the test suite's processes use, so the other tests' endpoints stay readable.
      const box = createSecretBox(config.SECRETS_ENCRYPTION_KEYS);
      await migrate(connection, box);
      const [[row]] = await pool.query<RowDataPacket[]>('SELECT secret FROM webhook_endpoints WHERE id = ?', [
        endpoint.id,
      ]);
      expect(box.isSealed(String(row!.secret))).toBe(true);
      expect(box.open(String(row!.secret))).toBe(endpoint.secret);
    } finally {
      connection.release();
      await pool.end();
    }
  });
});
