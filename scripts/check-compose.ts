/**
 * Validates docker-compose.yml without a Docker engine: `docker-compose config` (Debian's package, installed
 * here when missing and we are root) parses it, resolves anchors and checks every service against the schema.
 */
import { spawnSync } from 'node:child_process';

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
const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '--quiet'], { stdio: 'inherit' });
if (result.status !== 0) {
  console.error('check-compose: docker-compose.yml is invalid (see above).');
  process.exit(1);
}
console.log('check-compose: docker-compose.yml is valid');
