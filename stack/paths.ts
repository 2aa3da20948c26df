import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Versions of everything the local stack downloads or builds; each keys its cache folder. */
export const versions = {
  temporalCli: '1.5.1',
  kafka: '3.9.1',
  // The MariaDB connector is published to Maven Central only for x.y.0 releases.
  debezium: '3.2.0.Final',
  /** `npm run check:deploy` lints and renders the Helm chart with it. */
  helm: '3.22.0',
  /** promtool tests the alert rules: the same release as docker-compose's Prometheus image. */
  prometheus: '3.5.0',
  /** Validates the chart's rendered manifests against Kubernetes' schemas, offline (PyPI, into a venv). */
  kubernetesValidate: '1.37.0',
} as const;

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Downloads and builds live outside the repository so a fresh clone reuses them. */
export const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'orderly');

/** Data, logs and pid files of the running stack: one folder per checkout. */
export const stateDir = resolve(process.env.ORDERLY_STACK_DIR ?? join(repoRoot, '.stack'));
export const logDir = join(stateDir, 'logs');
export const runDir = join(stateDir, 'run');
export const dataDir = join(stateDir, 'data');

export const temporalBinary = join(cacheDir, `temporal-${versions.temporalCli}`, 'temporal');
export const kafkaLibs = join(cacheDir, `kafka-${versions.kafka}`, 'libs');
export const debeziumPlugins = join(cacheDir, `debezium-mariadb-${versions.debezium}`, 'plugins');
export const helmBinary = join(cacheDir, `helm-${versions.helm}`, 'helm');
export const promtoolBinary = join(cacheDir, `promtool-${versions.prometheus}`, 'promtool');
export const kubernetesValidateVenv = join(cacheDir, `kubernetes-validate-${versions.kubernetesValidate}`);
