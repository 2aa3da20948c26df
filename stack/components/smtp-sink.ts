import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import { StackError, errorText, healthy, startDaemon, unhealthy } from '../process.js';
import type { Component, ComponentContext } from './component.js';

const maildev = join(repoRoot, 'node_modules', 'maildev');

/** maildev: accepts every message over SMTP and shows it in its web UI and REST API. */
export function smtpSink({ settings, dirs }: ComponentContext): Component {
  const { smtpPort, mailUiPort } = settings;
  return {
    name: 'smtp-sink',
    what: 'maildev',
    address: `smtp://127.0.0.1:${smtpPort} (mail UI and API http://127.0.0.1:${mailUiPort})`,
    ports: [smtpPort, mailUiPort],
    after: [],
    startTimeoutMs: 30_000,
    provision() {
      if (!existsSync(maildev)) throw new StackError('smtp-sink: maildev is not installed; run `npm ci` first.');
      return Promise.resolve();
    },
    start() {
      const mailDir = join(dirs.data, 'maildev');
      mkdirSync(mailDir, { recursive: true });
      startDaemon(dirs, 'smtp-sink', process.execPath, [
        join(maildev, 'bin', 'maildev'),
        '--ip',
        '127.0.0.1',
        '--smtp',
        String(smtpPort),
        '--web',
        String(mailUiPort),
        '--mail-directory',
        mailDir,
      ]);
    },
    async health() {
      try {
        const response = await fetch(`http://127.0.0.1:${mailUiPort}/healthz`, { signal: AbortSignal.timeout(2000) });
        return response.ok ? healthy : unhealthy(`mail API answered ${response.status}`);
      } catch (error) {
        return unhealthy(`mail API not answering on port ${mailUiPort} (${errorText(error)})`);
      }
    },
  };
}
