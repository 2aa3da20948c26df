import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { StackDirs } from '../paths.js';
import { errorText, healthy, startDaemon, unhealthy } from '../process.js';
import { aptInstall } from './apt.js';
import type { Steps } from '../steps.js';
import type { Component, ComponentContext } from './component.js';
import { goInstall } from './go-build.js';
import { clusterOnly, temporalSqlTool } from './temporal-server.js';

const run = promisify(execFile);
const debianRoot = '/usr/lib/postgresql';

/** The newest PostgreSQL the Debian packages installed (they live in /usr/lib/postgresql/<major>/bin), if any. */
function postgresBin(): string | undefined {
  if (!existsSync(debianRoot)) return undefined;
  const majors = readdirSync(debianRoot)
    .map(Number)
    .filter((major) => Number.isInteger(major) && existsSync(join(debianRoot, String(major), 'bin', 'postgres')))
    .sort((a, b) => b - a);
  return majors[0] === undefined ? undefined : join(debianRoot, String(majors[0]), 'bin');
}

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user the package created. */
const asRoot = (): boolean => process.getuid?.() === 0;
const asPostgres = (command: string, args: string[]): [string, string[]] =>
  asRoot() ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];

/** What PostgreSQL writes must belong to the user it runs as. */
function ownedByPostgres(folder: string): void {
  mkdirSync(folder, { recursive: true });
  if (!asRoot()) return;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  chownSync(folder, id('-u'), id('-g'));
}

const dataOf = (dirs: StackDirs): string => join(dirs.data, 'postgresql');
const socketDirOf = (dirs: StackDirs): string => join(dirs.run, 'postgresql');

async function provision(dirs: StackDirs, steps: Steps): Promise<void> {
  if (postgresBin() === undefined) await aptInstall(steps, 'postgresql', ['postgresql']);
  // Its configuration creates Temporal's schemas with Temporal's own tool.
  await goInstall(steps, temporalSqlTool);
  ownedByPostgres(socketDirOf(dirs));
  if (existsSync(join(dataOf(dirs), 'PG_VERSION'))) return;
  ownedByPostgres(dataOf(dirs));
  await steps.command(
    { doing: 'initialising the data directory', done: 'initialised the data directory' },
    ...asPostgres(join(postgresBin()!, 'initdb'), [
      '-D',
      dataOf(dirs),
      '--encoding=UTF8',
      '--auth-local=peer',
      '--auth-host=scram-sha-256',
    ]),
  );
}

/** Runs SQL as the `postgres` superuser over the socket; returns the rows, one a line, fields split by `|`. */
async function psql(dirs: StackDirs, port: number, sql: string, database = 'postgres'): Promise<string> {
  const [command, args] = asPostgres(join(postgresBin()!, 'psql'), [
    '-h',
    socketDirOf(dirs),
    '-p',
    String(port),
    '-d',
    database,
    '-v',
    'ON_ERROR_STOP=1',
    '-tAc',
    sql,
  ]);
  const { stdout } = await run(command, args);
  return stdout;
}

/**
 * Temporal's user and its two databases, each with its schema set up by Temporal's SQL tool; what exists is left
 * as it is.
 */
async function createTemporalStores({ settings, dirs }: ComponentContext, steps: Steps): Promise<void> {
  const { postgres } = clusterOnly(settings);
  await psql(
    dirs,
    postgres.port,
    `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${postgres.user}') THEN ` +
      `CREATE ROLE ${postgres.user} LOGIN CREATEDB PASSWORD '${postgres.password}'; END IF; END $$`,
  );
  // Each embedded schema is the whole of its newest version, which the tool records: those of server 1.29.
  const stores = [
    { database: postgres.database, schema: 'postgresql/v12/temporal', version: '1.18' },
    { database: postgres.visibilityDatabase, schema: 'postgresql/v12/visibility', version: '1.9' },
  ];
  const existing = (await psql(dirs, postgres.port, 'SELECT datname FROM pg_database')).split('\n');
  for (const { database, schema, version } of stores) {
    const tool = (...command: string[]) =>
      steps.command(
        { doing: `${command[0]} ${database}`, done: `${command[0]} ${database} done` },
        temporalSqlTool.path,
        [
          '--plugin',
          'postgres12',
          '--ep',
          '127.0.0.1',
          '-p',
          String(postgres.port),
          '-u',
          postgres.user,
          '--pw',
          postgres.password,
          '--db',
          database,
          ...command,
        ],
      );
    if (!existing.includes(database)) await tool('create-database');
    const versioned = await psql(dirs, postgres.port, "SELECT to_regclass('public.schema_version')", database);
    if (versioned.trim() === '') await tool('setup-schema', '--schema-name', schema, '--version', version);
  }
}

/** PostgreSQL from Debian packages holding the Temporal server's stores, in the profile's own data directory. */
export function postgresql(context: ComponentContext): Component {
  const { settings, dirs } = context;
  const { postgres } = clusterOnly(settings);
  return {
    name: 'postgresql',
    what: 'PostgreSQL',
    address: `127.0.0.1:${postgres.port} (databases ${postgres.database}, ${postgres.visibilityDatabase})`,
    ports: [postgres.port],
    after: [],
    startTimeoutMs: 60_000,
    // SIGTERM waits for every client to disconnect, and Temporal never does; SIGINT ends their sessions and stops.
    stopSignal: 'SIGINT',
    provision: (steps) => provision(dirs, steps),
    start() {
      const [command, args] = asPostgres(join(postgresBin()!, 'postgres'), [
        '-D',
        dataOf(dirs),
        '-p',
        String(postgres.port),
        '-k',
        socketDirOf(dirs),
        '-c',
        'listen_addresses=127.0.0.1',
        // The Temporal server's four services each keep their own pools to both stores.
        '-c',
        'max_connections=200',
      ]);
      startDaemon(dirs, 'postgresql', command, args);
    },
    async health() {
      try {
        await psql(dirs, postgres.port, 'SELECT 1');
        return healthy;
      } catch (error) {
        // psql's own first line says what is wrong; the rest of its message is advice over several lines.
        const stderr = (error as { stderr?: string }).stderr?.trim().split('\n')[0];
        return unhealthy(`not answering on port ${postgres.port} (${stderr || errorText(error)})`);
      }
    },
    configure: (steps) => createTemporalStores(context, steps),
  };
}
