import type { Health } from '../process.js';
import type { Steps } from '../steps.js';

export type ComponentName = 'temporal' | 'mariadb' | 'kafka' | 'debezium' | 'smtp-sink';

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
  /** Downloads, builds, data directories and config files; quick when already done, and never starts a server. */
  provision(steps: Steps): Promise<void>;
  start(): void;
  health(): Promise<Health>;
  /** Idempotent set-up once healthy (users, migrations, topics, connector, search attributes); runs on every `up`. */
  configure?(steps: Steps): Promise<void>;
}
