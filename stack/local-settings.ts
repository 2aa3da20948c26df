import type { SearchAttributeType } from '@temporalio/common';
import { searchAttributeList } from '../src/search-attributes.js';
import { type ProfileName, activeProfile } from './paths.js';
import { maxErrorDescChars } from '../src/domain.js';

const cliTypeNames = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
} as const satisfies Record<SearchAttributeType, string>;

/** One KRaft node (broker and controller in one process). */
export interface KafkaNode {
  id: number;
  port: number;
  controllerPort: number;
}

/** The cluster profile's Temporal server: one process running all four services, each on its own ports. */
export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  /** Membership (ringpop) ports, one per service, in the order above without the HTTP port. */
  membership: { frontend: number; history: number; matching: number; worker: number };
}

/** Addresses and credentials of one profile of the local stack; src/config.ts defaults point at the dev ones. */
export interface StackSettings {
  profile: ProfileName;
  temporalPort: number;
  temporalUiPort: number;
  temporalAddress: string;
  /** Those of src/search-attributes.ts, each with its type as the `temporal` CLI spells it. */
  searchAttributes: { name: string; type: SearchAttributeType; cliType: string }[];
  mysqlPort: number;
  mysqlDatabase: string;
  mysqlUser: string;
  mysqlPassword: string;
  cdcUser: string;
  cdcPassword: string;
  mysqlConnection: { host: string; port: number; user: string; password: string; database: string };
  kafkaNodes: KafkaNode[];
  /** `host:port` of every broker, what KAFKA_BROKERS lists. */
  kafkaBrokers: string[];
  /** Replicas of every topic (the stack's own, Connect's and Debezium's) and how many must have a write. */
  kafkaReplicationFactor: number;
  kafkaMinInsyncReplicas: number;
  kafkaPartitions: number;
  /** Largest Kafka record: order_events.error_desc is MEDIUMTEXT, so a change event can be megabytes. */
  maxMessageBytes: number;
  /** REST port of each Kafka Connect worker; all of them form one distributed group. */
  connectPorts: number[];
  eventsTopic: string;
  deadLetterTopic: string;
  smtpPort: number;
  mailUiPort: number;
  /**
   * Added to the default metrics ports of Orderly's processes (src/metrics.ts) that tests start on this profile, so
   * they do not collide with those of tests on another profile running at the same time.
   */
  metricsPortOffset: number;
  /** The cluster profile only: PostgreSQL (Temporal's stores) and the Temporal server's ports. */
  postgres?: { port: number; user: string; password: string; database: string; visibilityDatabase: string };
  temporalServer?: TemporalServerPorts;
}

const common = {
  searchAttributes: searchAttributeList.map(({ name, type }) => ({ name, type, cliType: cliTypeNames[type] })),
  mysqlDatabase: 'orderly',
  mysqlUser: 'orderly',
  mysqlPassword: 'orderly',
  cdcUser: 'debezium',
  cdcPassword: 'debezium',
  kafkaPartitions: 6,
  maxMessageBytes: 16 * 1024 * 1024,
  eventsTopic: 'cdc.orderly.order_events',
  deadLetterTopic: 'orderly.ingest.dead-letters',
};

/** A profile's settings from what sets it apart: the rest is the same in every profile or follows from it. */
function profile(own: Omit<StackSettings, keyof typeof common | 'mysqlConnection' | 'kafkaBrokers'>): StackSettings {
  return {
    ...common,
    ...own,
    mysqlConnection: {
      host: '127.0.0.1',
      port: own.mysqlPort,
      user: common.mysqlUser,
      password: common.mysqlPassword,
      database: common.mysqlDatabase,
    },
    kafkaBrokers: own.kafkaNodes.map((node) => `127.0.0.1:${node.port}`),
  };
}

/** Every profile's settings; the cluster's ports are all apart from the dev ones, so both stacks run at once. */
export const profiles: Record<ProfileName, StackSettings> = {
  dev: profile({
    profile: 'dev',
    temporalPort: 7233,
    temporalUiPort: 8233,
    temporalAddress: '127.0.0.1:7233',
    mysqlPort: 3306,
    kafkaNodes: [{ id: 1, port: 9092, controllerPort: 9093 }],
    kafkaReplicationFactor: 1,
    kafkaMinInsyncReplicas: 1,
    connectPorts: [8083],
    smtpPort: 1025,
    mailUiPort: 1080,
    metricsPortOffset: 0,
  }),
  cluster: profile({
    profile: 'cluster',
    temporalPort: 7433,
    temporalUiPort: 8433,
    temporalAddress: '127.0.0.1:7433',
    mysqlPort: 3307,
    kafkaNodes: [
      { id: 1, port: 9192, controllerPort: 9193 },
      { id: 2, port: 9194, controllerPort: 9195 },
      { id: 3, port: 9196, controllerPort: 9197 },
    ],
    // A write survives the loss of any one broker, and is refused (not lost) when two are gone.
    kafkaReplicationFactor: 3,
    kafkaMinInsyncReplicas: 2,
    connectPorts: [8183, 8184],
    smtpPort: 1125,
    mailUiPort: 1180,
    metricsPortOffset: 100,
    postgres: {
      port: 5433,
      user: 'temporal',
      password: 'temporal',
      database: 'temporal',
      visibilityDatabase: 'temporal_visibility',
    },
    temporalServer: {
      frontend: 7433,
      frontendHttp: 7443,
      history: 7434,
      matching: 7435,
      worker: 7439,
      membership: { frontend: 6433, history: 6434, matching: 6435, worker: 6439 },
    },
  }),
};

/** The dev profile's settings: what src/config.ts defaults to. */
export const local = profiles.dev;

/**
 * What an Orderly process (ingest, workers, API, the `orderly` CLI) and the tests need to work against a profile's
 * stack: its addresses as src/config.ts reads them, the mail sink's API for test/support/mail-sink.ts, and the
 * profile itself for the stack's own helpers (test/support, scripts/orderly-processes.ts).
 */
export function orderlyEnv(profile: ProfileName = activeProfile): Record<string, string> {
  const settings = profiles[profile];
  return {
    ORDERLY_STACK_PROFILE: profile,
    TEMPORAL_ADDRESS: settings.temporalAddress,
    KAFKA_BROKERS: settings.kafkaBrokers.join(','),
    KAFKA_EVENTS_TOPIC: settings.eventsTopic,
    KAFKA_DEAD_LETTER_TOPIC: settings.deadLetterTopic,
    MYSQL_HOST: '127.0.0.1',
    MYSQL_PORT: String(settings.mysqlPort),
    MYSQL_USER: settings.mysqlUser,
    MYSQL_PASSWORD: settings.mysqlPassword,
    MYSQL_DATABASE: settings.mysqlDatabase,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(settings.smtpPort),
    MAIL_SINK_API: `http://127.0.0.1:${settings.mailUiPort}`,
  };
}

export const connectorName = 'orderly-order-events';

/**
 * Where the Web UI of either profile sends its encode and decode calls: `orderly codec-server`, which an operator runs
 * on their machine with their operator key (docs/security.md). Without it running, the UI shows payloads encrypted.
 */
export const webUiCodecEndpoint = 'http://127.0.0.1:8081';

/**
 * Keys and values as plain JSON: the ingest reads {"order_id":...} keys and Debezium envelopes. Set on the local
 * Connect worker, and on the connector in docker/connector.json (scripts/check-compose.ts checks they agree).
 */
export const jsonConverters = {
  'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'key.converter.schemas.enable': 'false',
  'value.converter.schemas.enable': 'false',
};

/**
 * The Debezium connector capturing order_events for one profile; docker/connector.json is the dev one's MySQL 8
 * twin for docker-compose, and scripts/check-compose.ts checks every setting they share is equal.
 */
export function connectorConfigOf(settings: StackSettings): Record<string, string> {
  const replicated: Record<string, string> =
    settings.kafkaReplicationFactor > 1
      ? {
          // The CDC topic as the brokers' defaults would make it, said here so it does not hang on them.
          'topic.creation.default.min.insync.replicas': String(settings.kafkaMinInsyncReplicas),
          // Debezium's own producer for the schema history; the worker's (the events') is acks=all already.
          'schema.history.internal.producer.acks': 'all',
        }
      : {};
  return {
    'connector.class': 'io.debezium.connector.mariadb.MariaDbConnector',
    'tasks.max': '1',
    'database.hostname': '127.0.0.1',
    'database.port': String(settings.mysqlPort),
    'database.user': settings.cdcUser,
    'database.password': settings.cdcPassword,
    'database.server.id': '5401',
    'database.ssl.mode': 'disable',
    'topic.prefix': 'cdc',
    'database.include.list': settings.mysqlDatabase,
    'table.include.list': `${settings.mysqlDatabase}.order_events`,
    // Key by order, not by event id: all events of one order land on one partition, in commit order.
    'message.key.columns': `${settings.mysqlDatabase}.order_events:order_id`,
    // A new connector starts at the current binlog position: old rows are never re-published as notifications.
    'snapshot.mode': 'no_data',
    'schema.history.internal.kafka.bootstrap.servers': settings.kafkaBrokers.join(','),
    'schema.history.internal.kafka.topic': 'cdc.schema-history',
    'include.schema.changes': 'false',
    // Default 500 ms; the binlog reader hands rows over at most this late.
    'poll.interval.ms': '20',
    'max.batch.size': '2048',
    // A huge error_desc is cut at the source, one character past what a notification carries (src/domain.ts): an
    // update carries the row twice, and 2 x 8 MB failed the connector's task on Kafka's message limit.
    [`column.truncate.to.${maxErrorDescChars + 1}.chars`]: `${settings.mysqlDatabase}.order_events.error_desc`,
    'topic.creation.default.replication.factor': String(settings.kafkaReplicationFactor),
    'topic.creation.default.partitions': String(settings.kafkaPartitions),
    ...replicated,
  };
}

/** The dev profile's connector (docker/connector.json's twin). */
export const connectorConfig = connectorConfigOf(local);
