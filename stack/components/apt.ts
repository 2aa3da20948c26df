import { StackError } from '../process.js';
import type { Steps } from '../steps.js';

/**
 * Installs Debian packages for a component that is missing them (MariaDB, PostgreSQL): with apt-get as root, or a
 * sentence saying what to run otherwise. What it installs is named by the component's first package.
 */
export async function aptInstall(steps: Steps, component: string, packages: [string, ...string[]]): Promise<void> {
  const [what] = packages;
  if (process.getuid?.() !== 0)
    throw new StackError(
      `${component}: ${what} is not installed and installing it needs root; run \`sudo apt-get install ${packages.join(' ')}\`.`,
    );
  await steps.command(
    { doing: 'updating the Debian package lists', done: 'updated the package lists', expect: 'about 10-30 s' },
    'apt-get',
    ['update'],
  );
  await steps.command(
    {
      doing: `installing ${what} from Debian packages`,
      done: `installed ${what}`,
      expect: 'first run only, about 30-60 s',
    },
    'apt-get',
    ['install', '-y', '--no-install-recommends', ...packages],
    { DEBIAN_FRONTEND: 'noninteractive' },
  );
}
