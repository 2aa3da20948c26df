import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { local } from '../local-settings.js';
import { dataDir, repoRoot } from '../paths.js';
import { StackError, errorText, healthy, startDaemon, unhealthy } from '../process.js';
import type { Component } from './component.js';

const maildev = join(repoRoot, 'node_modules', 'maildev');

export const smtpSink: Component = {
  name: 'smtp-sink',
  what: 'maildev',
  address: `smtp://127.0.0.1:${local.smtpPort} (mail UI and API http://127.0.0.1:${local.mailUiPort})`,
  ports: [local.smtpPort, local.mailUiPort],
  after: [],
  startTimeoutMs: 30_000,
  provision() {
    if (!existsSync(maildev)) throw new StackError('smtp-sink: maildev is not installed; run `npm ci` first.');
    return Promise.resolve();
  },
  start() {
    const mailDir = join(dataDir, 'maildev');
    mkdirSync(mailDir, { recursive: true });
    startDaemon('smtp-sink', process.execPath, [
      join(maildev, 'bin', 'maildev'),
      '--ip',
      '127.0.0.1',
      '--smtp',
      String(local.smtpPort),
      '--web',
      String(local.mailUiPort),
      '--mail-directory',
      mailDir,
    ]);
  },
  async health() {
    try {
      const response = await fetch(`http://127.0.0.1:${local.mailUiPort}/healthz`, {
        signal: AbortSignal.timeout(2000),
      });
      return response.ok ? healthy : unhealthy(`mail API answered ${response.status}`);
    } catch (error) {
      return unhealthy(`mail API not answering on port ${local.mailUiPort} (${errorText(error)})`);
    }
  },
};
