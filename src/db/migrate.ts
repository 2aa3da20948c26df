import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { SecretBox } from '../secrets.js';

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations');

/**
 * Applies the versioned SQL files in `migrations/` that this database has not seen, in name order, then seals
 * the webhook secrets still in the clear (see src/secrets.ts). The connection needs `multipleStatements`. A
 * named lock keeps two migrators from racing.
 */
export async function migrate(
  connection: Connection,
  secrets: SecretBox,
  onApplied: (file: string) => void = () => {},
): Promise<void> {
  await connection.query("SELECT GET_LOCK('orderly_migrate', 60)");
  try {
    await connection.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(255) PRIMARY KEY, applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))',
    );
    const [rows] = await connection.query<RowDataPacket[]>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => String(row.version)));
    const pending = readdirSync(migrationsDir)
      .filter((file) => file.endsWith('.sql') && !applied.has(file))
      .sort();
    for (const file of pending) {
      await connection.query(readFileSync(join(migrationsDir, file), 'utf8'));
      await connection.query('INSERT INTO schema_migrations (version) VALUES (?)', [file]);
      onApplied(file);
    }
    await sealClearSecrets(connection, secrets);
  } finally {
    await connection.query("SELECT RELEASE_LOCK('orderly_migrate')");
  }
}

/** Webhook secrets written in the clear (before they were sealed, or by SQL) are sealed in place. */
async function sealClearSecrets(connection: Connection, secrets: SecretBox): Promise<void> {
  const [rows] = await connection.query<RowDataPacket[]>(
    "SELECT id, secret, previous_secret FROM webhook_endpoints WHERE secret NOT LIKE 'v1:%' OR previous_secret NOT LIKE 'v1:%'",
  );
  const seal = (value: string | null) => (value === null || secrets.isSealed(value) ? value : secrets.seal(value));
  for (const row of rows) {
    await connection.execute('UPDATE webhook_endpoints SET secret = ?, previous_secret = ? WHERE id = ?', [
      seal(String(row.secret)),
      seal(row.previous_secret as string | null),
      row.id,
    ]);
  }
}
