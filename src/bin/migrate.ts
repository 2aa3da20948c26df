import mysql from 'mysql2/promise';
import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { createSecretBox } from '../secrets.js';
import { connectTo, runProcess } from './run.js';

/** Applies pending schema migrations, then exits: run it before the other processes on every deploy. */
runProcess('migrate', async () => {
  const config = loadConfig();
  const target = `MySQL at ${config.MYSQL_HOST}:${config.MYSQL_PORT}/${config.MYSQL_DATABASE}`;
  const connection = await connectTo(target, () =>
    mysql.createConnection({
      host: config.MYSQL_HOST,
      port: config.MYSQL_PORT,
      user: config.MYSQL_USER,
      password: config.MYSQL_PASSWORD,
      database: config.MYSQL_DATABASE,
      multipleStatements: true,
    }),
  );
  try {
    let applied = 0;
    await migrate(connection, createSecretBox(config.SECRETS_ENCRYPTION_KEYS), (file) => {
      applied++;
      console.log(`applied ${file}`);
    });
    console.log(`${target}: schema up to date (${applied} migration${applied === 1 ? '' : 's'} applied)`);
  } finally {
    await connection.end();
  }
});
