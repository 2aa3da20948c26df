import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connection, RowDataPacket } from 'mysql2/promise';

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations');

/**
 * Applies the versioned SQL files in `migrations/` that this database has not seen, in name order.
 * The connection needs `multipleStatements`. A named lock keeps two migrators from racing.
 */
export async function migrate(connection: Connection, onApplied: (file: string) => void = () => {}): Promise<void> {
  await connection.query("SELECT GET_LOCK('orderly_migrate', 60)");
  try {
    await connection.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(255) PRIMARY KEY, applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))',
    );
    const [rows] = await connection.query<RowDataPacket[]>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => String(row.version)));
    const pending = readdirSync(migrationsDir).filter((file) => file.endsWith('.sql') && !applied.has(file)).sort();
    for (const file of pending) {
      await connection.query(readFileSync(join(migrationsDir, file), 'utf8'));
      await connection.query('INSERT INTO schema_migrations (version) VALUES (?)', [file]);
      onApplied(file);
    }
  } finally {
    await connection.query("SELECT RELEASE_LOCK('orderly_migrate')");
  }
}
