import mysql, { type Pool, type PoolConnection } from 'mysql2/promise';
import type { Config } from '../config.js';

/** A JSON column's value: mysql2 parses MySQL's JSON; MariaDB's JSON is LONGTEXT and arrives as a string. */
export function jsonColumn<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** The mysql2 pool every process shares; BIGINT ids come back as strings so none loses precision. */
export function createPool(config: Config): mysql.Pool {
  return mysql.createPool({
    host: config.MYSQL_HOST,
    port: config.MYSQL_PORT,
    user: config.MYSQL_USER,
    password: config.MYSQL_PASSWORD,
    database: config.MYSQL_DATABASE,
    connectionLimit: config.MYSQL_POOL_SIZE,
    supportBigNumbers: true,
    bigNumberStrings: true,
    timezone: 'Z',
    dateStrings: false,
  });
}

/** Two transactions may collide on a row one of them is inserting (the order chain's end, a recipient's open digest). */
const collided = (error: unknown) =>
  ['ER_LOCK_DEADLOCK', 'ER_DUP_ENTRY'].includes((error as { code?: string }).code ?? '');

/** Runs `work` in one transaction on one connection, again from the start when it collides with another. */
export async function inTransaction<T>(pool: Pool, work: (connection: PoolConnection) => Promise<T>): Promise<T> {
  const connection = await pool.getConnection();
  try {
    for (;;) {
      try {
        await connection.beginTransaction();
        const result = await work(connection);
        await connection.commit();
        return result;
      } catch (error) {
        await connection.rollback();
        if (!collided(error)) throw error;
      }
    }
  } finally {
    connection.release();
  }
}
