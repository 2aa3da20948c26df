import type { StackSettings } from '../local-settings.js';
import type { StackDirs } from '../paths.js';
import type { Health } from '../process.js';
import type { Steps } from '../steps.js';

/** The dev profile has one of each; the cluster profile numbers its Kafka brokers and Connect workers from 1. */
export type ComponentName =
  | 'temporal'
  | 'temporal-ui'
  | 'postgresql'
  | 'mariadb'
  | 'kafka'
  | `kafka-${number}`
  | 'debezium'
  | `debezium-${number}`
  | 'smtp-sink';

/** What a component is made for: the profile's addresses and the folders its data, logs and pid files go to. */
export interface ComponentContext {
  settings: StackSettings;
  dirs: StackDirs;
}

/** One server of the local stack: how to get it, start it, tell it is healthy, and set it up once healthy. */
export interface Component {
  name: ComponentName;
  address: string;
  ports: number[];
  /** Components that must be up (healthy and configured) before this one starts; provisioning never waits. */
  after: ComponentName[];
  startTimeoutMs: number;
  /** What `start` and the health wait are about, e.g. 'Kafka broker (KRaft)'. */
  what: string;
  /** The signal that stops it cleanly and soon; SIGTERM unless the server reads it otherwise. */
  stopSignal?: NodeJS.Signals;
  /** Downloads, builds, data directories and config files; quick when already done, and never starts a server. */
  provision(steps: Steps): Promise<void>;
  start(): void;
  health(): Promise<Health>;
  /** Idempotent set-up once healthy (users, migrations, topics, connector, search attributes); runs on every `up`. */
  configure?(steps: Steps): Promise<void>;
}
