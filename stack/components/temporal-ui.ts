import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type StackSettings, webUiCodecEndpoint } from '../local-settings.js';
import { temporalUiDir, versions } from '../paths.js';
import { errorText, healthy, startDaemon, unhealthy } from '../process.js';
import type { Component, ComponentContext } from './component.js';
import { type GoBinary, goInstall } from './go-build.js';
import { namespace } from './temporal.js';

export const temporalUiBinary: GoBinary = {
  path: join(temporalUiDir, 'server'),
  packagePath: 'github.com/temporalio/ui-server/v2/cmd/server',
  version: versions.temporalUi,
  what: 'the Temporal UI server',
  expect: 'first run only, about 20-60 s',
};

/** The UI server's config (JSON is YAML): the web UI it embeds, in front of the profile's frontend. */
export function temporalUiConfig(settings: StackSettings): object {
  return {
    temporalGrpcAddress: settings.temporalAddress,
    host: '127.0.0.1',
    port: settings.temporalUiPort,
    enableUi: true,
    defaultNamespace: namespace,
    refreshInterval: '1m',
    cors: { allowOrigins: [`http://127.0.0.1:${settings.temporalUiPort}`] },
    codec: { endpoint: webUiCodecEndpoint },
  };
}

/** The Temporal Web UI for the cluster profile's server: the same UI the CLI's dev server embeds. */
export function temporalUi({ settings, dirs }: ComponentContext): Component {
  const configDir = join(dirs.run, 'temporal-ui-config');
  const url = `http://127.0.0.1:${settings.temporalUiPort}`;
  return {
    name: 'temporal-ui',
    what: `the Temporal UI server v${versions.temporalUi}`,
    address: url,
    ports: [settings.temporalUiPort],
    after: ['temporal'],
    startTimeoutMs: 30_000,
    async provision(steps) {
      await goInstall(steps, temporalUiBinary);
      mkdirSync(configDir, { recursive: true });
      writeFileSync(join(configDir, 'cluster.yaml'), `${JSON.stringify(temporalUiConfig(settings), null, 2)}\n`);
    },
    start() {
      startDaemon(dirs, 'temporal-ui', temporalUiBinary.path, [
        '--root',
        dirs.run,
        '--config',
        'temporal-ui-config',
        '--env',
        'cluster',
        'start',
      ]);
    },
    async health() {
      try {
        const response = await fetch(`${url}/api/v1/namespaces/${namespace}`, { signal: AbortSignal.timeout(2000) });
        return response.ok ? healthy : unhealthy(`the UI's API answered ${response.status}`);
      } catch (error) {
        return unhealthy(`not answering on ${url} (${errorText(error)})`);
      }
    },
  };
}
