/**
 * Validates docker-compose.yml, alone and with docker-compose.replicated.yml over it, without a Docker engine:
 * `docker-compose config` (Debian's package, installed here when missing and we are root) parses and merges the
 * files, resolves anchors and checks every service against the schema.
 * First it checks that docker-compose's twins of the local stack's settings agree with their one source: the
 * search attributes of src/search-attributes.ts, and the Debezium connector settings of stack/local-settings.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connectorConfig, jsonConverters, local } from '../stack/local-settings.js';

/** Differences from the source, one sentence each; empty when the twins agree. */
function searchAttributeDrift(compose: string): string[] {
  const loop = /for sa in ([^;]+); do/.exec(compose);
  if (!loop) return ['docker-compose.yml: temporal-setup no longer has its `for sa in name=Type ...; do` loop.'];
  const inCompose = new Set(loop[1]!.trim().split(/\s+/));
  const inSource = new Set(local.searchAttributes.map(({ name, cliType }) => `${name}=${cliType}`));
  return [
    ...[...inSource].filter((pair) => !inCompose.has(pair)).map((pair) => `${pair} is missing`),
    ...[...inCompose].filter((pair) => !inSource.has(pair)).map((pair) => `${pair} is not in the source`),
  ].map((problem) => `docker-compose.yml temporal-setup: search attribute ${problem} (src/search-attributes.ts).`);
}

/** Connector settings that name where things run or which database product, so they differ on purpose. */
const environmentSpecific: Record<string, string> = {
  'connector.class': 'MySQL 8 in docker-compose, MariaDB locally',
  'database.hostname': 'a service name in docker-compose',
  'schema.history.internal.kafka.bootstrap.servers': 'a service name in docker-compose',
  'database.ssl.mode': "the local MariaDB has no TLS; MySQL 8's default is fine",
};

function connectorDrift(): string[] {
  // The local stack sets the converters on its Connect worker; docker-compose's image on the connector.
  const source: Record<string, string> = { ...connectorConfig, ...jsonConverters };
  const twin = JSON.parse(readFileSync('docker/connector.json', 'utf8')) as Record<string, string>;
  const keys = [...new Set([...Object.keys(source), ...Object.keys(twin)])].filter(
    (key) => !(key in environmentSpecific),
  );
  return keys
    .filter((key) => source[key] !== twin[key])
    .map(
      (key) =>
        `docker/connector.json: ${key} is ${JSON.stringify(twin[key])}, stack/local-settings.ts has ${JSON.stringify(source[key])}.`,
    );
}

const drift = [...searchAttributeDrift(readFileSync('docker-compose.yml', 'utf8')), ...connectorDrift()];
for (const problem of drift) console.error(`check-compose: ${problem}`);
if (drift.length === 0) console.log('check-compose: search attributes and connector settings agree with the stack');

const hasCompose = (): boolean =>
  spawnSync('sh', ['-c', 'command -v docker-compose'], { stdio: 'ignore' }).status === 0;

if (!hasCompose()) {
  if (process.getuid?.() !== 0) {
    console.error(
      'check-compose: docker-compose is not installed; install it (apt-get install docker-compose) to validate docker-compose.yml.',
    );
    process.exit(1);
  }
  console.log('check-compose: installing docker-compose from Debian packages...');
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'docker-compose'],
  ]) {
    const result = spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.status !== 0) process.exit(1);
  }
}
/** Each file set docker-compose must accept: the base, and the base with the replicated topology over it. */
const fileSets = [['docker-compose.yml'], ['docker-compose.yml', 'docker-compose.replicated.yml']];
let invalid = false;
for (const files of fileSets) {
  const names = files.join(' + ');
  const result = spawnSync('docker-compose', [...files.flatMap((file) => ['-f', file]), 'config', '--quiet'], {
    stdio: 'inherit',
  });
  if (result.status === 0) console.log(`check-compose: ${names} is valid`);
  else console.error(`check-compose: ${names} is invalid (see above).`);
  invalid ||= result.status !== 0;
}
if (invalid) process.exit(1);
if (drift.length > 0) process.exit(1);
