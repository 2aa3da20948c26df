import mysql from 'mysql2/promise';
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
