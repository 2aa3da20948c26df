/**
 * `npm run test:fuzz`: schemathesis (from PyPI, cached under ~/.cache/orderly/) fuzzes the real HTTP API from its
 * own OpenAPI document: every operation, once with an operator key and once with a customer key, checking that
 * no request gets a server error and that every response matches its declared schema. Exits 1 on any failure.
 * Needs the local stack (`npm run stack:up`); starts its own API process.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sample } from '../../scripts/sample-data.js';
import { startOrderly } from '../../scripts/orderly-processes.js';
import { cacheDir } from '../../stack/paths.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/pool.js';
import { apiKeyOperations } from '../../src/operations/api-keys.js';

const version = '4.32.5';
const venv = join(cacheDir, `schemathesis-${version}`);
const st = join(venv, 'bin', 'st');
const port = '8097';
/** Generated cases per operation and phase; about 500 in all with both keys, well under two minutes. */
const maxExamples = '10';

if (!existsSync(st)) {
  console.log(`fuzz: installing schemathesis ${version} into ${venv} (first run only, about a minute)...`);
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', `schemathesis==${version}`], { stdio: 'inherit' });
}

const pool = createPool(loadConfig());
// Something for each key to find: a customer with a user, a subscription, a webhook endpoint, an order and an event.
const customerId = await sample.customer(pool, 'Fuzzed customer');
const user = await sample.user(pool, customerId, 'Fuzz', 'fuzz@example.test');
await sample.subscription(pool, user.id);
await sample.webhookEndpoint(pool, customerId, 'https://example.com/hook');
await sample.event(pool, { orderId: await sample.order(pool, customerId), customerId, status: 'failure' });
const keys = apiKeyOperations({ pool });
const principals = {
  'an operator': await keys.create('fuzz operator'),
  'a customer': await keys.create('fuzz customer', customerId),
};
await pool.end();

const api = await startOrderly(
  'api',
  { API_PORT: port, METRICS_PORT: '9497', API_RATE_LIMIT_PER_MINUTE: '100000' },
  { logPrefix: 'fuzz-' },
);
let failed = false;
try {
  for (const [who, { key }] of Object.entries(principals)) {
    console.log(
      `fuzz: every operation with ${who} key (schemathesis ${version}, checks: no server error, declared status codes, response schemas)`,
    );
    const run = spawnSync(
      st,
      [
        'run',
        `http://127.0.0.1:${port}/openapi.json`,
        '--header',
        `Authorization: Bearer ${key}`,
        '--checks',
        'not_a_server_error,status_code_conformance,response_schema_conformance',
        '--max-examples',
        maxExamples,
        '--seed',
        '1',
        '--no-color',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
    );
    // Prefixed, so that schemathesis's pytest-style closing line ("2 warnings in 7.87s") never reads as npm test's.
    for (const line of `${run.stdout}${run.stderr}`.trimEnd().split('\n')) console.log(`schemathesis | ${line}`);
    failed ||= run.status !== 0;
  }
} finally {
  await api.stop();
}
if (failed) {
  console.error('fuzz: schemathesis found failures (above); the API log is .stack/logs/fuzz-api.log');
  process.exitCode = 1;
}
