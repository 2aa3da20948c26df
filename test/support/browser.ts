import { execFileSync } from 'node:child_process';
import { type Browser, chromium } from 'playwright-core';
import { hasCommand, runCommand } from '../../stack/process.js';

/**
 * Installs Debian's `chromium` package when it is missing, as the local stack installs MariaDB: with apt-get as
 * root, or a sentence saying what to run otherwise. Playwright's own browser download is not used: Debian's package
 * is what a fresh machine (and CI) can install.
 */
export async function ensureChromium(): Promise<string> {
  if (!hasCommand('chromium')) {
    if (process.getuid?.() !== 0)
      throw new Error('chromium is not installed and installing it needs root; run `sudo apt-get install chromium`.');
    await runCommand('chromium', 'apt-get update', 'apt-get', ['update']);
    await runCommand(
      'chromium',
      'installing chromium from Debian packages',
      'apt-get',
      ['install', '-y', '--no-install-recommends', 'chromium'],
      { env: { DEBIAN_FRONTEND: 'noninteractive' } },
    );
  }
  return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
}

/** Debian's Chromium, headless, driven by Playwright (installed first if missing). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await ensureChromium() });
}
