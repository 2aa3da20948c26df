import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { loadConfig } from '../../src/config.js';
import { migrate } from '../../src/db/migrate.js';
import { createSecretBox } from '../../src/secrets.js';
import type { StackDirs } from '../paths.js';
import { errorText, hasCommand, healthy, logFile, startDaemon, unhealthy } from '../process.js';
import { aptInstall } from './apt.js';
import type { Steps } from '../steps.js';
import type { Component, ComponentContext } from './component.js';

const mariadbData = (dirs: StackDirs): string => join(dirs.data, 'mariadb');
/** Root logs in over this socket (no password); test/support/unseen-event.ts too. */
export const mariadbSocket = (dirs: StackDirs): string => join(dirs.run, 'mariadb.sock');

/** mariadbd refuses to run as root unless told to. */
function rootUserFlag(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

async function provision(dirs: StackDirs, steps: Steps): Promise<void> {
  if (!hasCommand('mariadbd')) await aptInstall(steps, 'mariadb', ['mariadb-server', 'mariadb-client']);
  if (existsSync(join(mariadbData(dirs), 'mysql'))) return;
  mkdirSync(mariadbData(dirs), { recursive: true });
  await steps.command(
    { doing: 'initialising the data directory', done: 'initialised the data directory' },
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${mariadbData(dirs)}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...rootUserFlag(),
    ],
  );
}

function start({ settings, dirs }: ComponentContext): void {
  mkdirSync(dirs.run, { recursive: true });
  startDaemon(dirs, 'mariadb', 'mariadbd', [
    '--no-defaults',
    `--datadir=${mariadbData(dirs)}`,
    `--socket=${mariadbSocket(dirs)}`,
    `--pid-file=${join(dirs.run, 'mariadbd.pid')}`,
    `--port=${settings.mysqlPort}`,
    '--bind-address=127.0.0.1',
    '--skip-name-resolve',
    // What Debezium needs: a row-based binlog with full images, a server id, no compression.
    `--log-bin=${join(mariadbData(dirs), 'binlog')}`,
    '--binlog-format=ROW',
    '--binlog-row-image=FULL',
    '--log-bin-compress=0',
    '--server-id=1',
    // DATETIME columns carry no zone; Debezium reads them as UTC, so the server must write UTC.
    '--default-time-zone=+00:00',
    '--expire-logs-days=2',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
    '--max-allowed-packet=64M',
    '--innodb-buffer-pool-size=256M',
    `--log-error=${logFile(dirs, 'mariadb')}`,
    ...rootUserFlag(),
  ]);
}

async function configure({ settings, dirs }: ComponentContext, steps: Steps): Promise<void> {
  await steps.run(
    { doing: `creating database ${settings.mysqlDatabase} and its users`, done: 'created the database and users' },
    async () => {
      const root = await mysql.createConnection({
        socketPath: mariadbSocket(dirs),
        user: 'root',
        multipleStatements: true,
      });
      try {
        await root.query(`
          DROP USER IF EXISTS ''@'localhost';
          CREATE DATABASE IF NOT EXISTS \`${settings.mysqlDatabase}\` CHARACTER SET utf8mb4;
          CREATE USER IF NOT EXISTS '${settings.mysqlUser}'@'%' IDENTIFIED BY '${settings.mysqlPassword}';
          GRANT ALL PRIVILEGES ON \`${settings.mysqlDatabase}\`.* TO '${settings.mysqlUser}'@'%';
          CREATE USER IF NOT EXISTS '${settings.cdcUser}'@'%' IDENTIFIED BY '${settings.cdcPassword}';
          GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO '${settings.cdcUser}'@'%';
        `);
      } finally {
        await root.end();
      }
    },
  );
  await steps.run({ doing: 'applying migrations', done: 'migrations up to date' }, async () => {
    const app = await mysql.createConnection({ ...settings.mysqlConnection, multipleStatements: true });
    try {
      // Said even when the component was already running: a new migration is news.
      await migrate(app, createSecretBox(loadConfig().SECRETS_ENCRYPTION_KEYS), (file) =>
        steps.say(`applied migration ${file}`),
      );
    } finally {
      await app.end();
    }
  });
}

/** MariaDB from Debian packages in the profile's own data directory, run as the stack's daemon. */
export function mariadb(context: ComponentContext): Component {
  const { settings, dirs } = context;
  const socket = mariadbSocket(dirs);
  return {
    name: 'mariadb',
    what: 'mariadbd',
    address: `127.0.0.1:${settings.mysqlPort} (database ${settings.mysqlDatabase})`,
    ports: [settings.mysqlPort],
    after: [],
    startTimeoutMs: 60_000,
    provision: (steps) => provision(dirs, steps),
    start: () => start(context),
    async health() {
      try {
        const connection = await mysql.createConnection({ socketPath: socket, user: 'root', connectTimeout: 2000 });
        try {
          await connection.query('SELECT 1');
          return healthy;
        } finally {
          await connection.end();
        }
      } catch (error) {
        return unhealthy(`not answering on ${socket} (${errorText(error)})`);
      }
    },
    configure: (steps) => configure(context, steps),
  };
}
